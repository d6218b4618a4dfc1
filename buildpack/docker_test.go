package buildpack

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dockerclient "github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cancelOnReply cancels the build's context once the engine has done what
// a request asked and before its reply reaches the client, which then sees
// only the cancellation, as net/http's transport answers a request
// cancelled while the engine works on it: the moment of a Ctrl+C that
// lands while a container is being created.
type cancelOnReply struct {
	base   http.RoundTripper
	cancel context.CancelFunc
}

func (c cancelOnReply) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	c.cancel()
	if cerr := r.Context().Err(); cerr != nil && err == nil {
		resp.Body.Close()
		return nil, cerr
	}
	return resp, err
}

// cancellingClient is the client pack builds with, on a connection that
// calls cancel as each reply arrives (cancelOnReply).
func cancellingClient(t *testing.T, cancel context.CancelFunc) cancelSafe {
	t.Helper()
	dc, err := dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
	require.NoError(t, err)
	// The version is negotiated here: through the transport below, the
	// negotiating ping would be the reply that cancels.
	dc.NegotiateAPIVersion(context.Background())
	dc, err = dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithVersion(dc.ClientVersion()),
		dockerclient.WithHTTPClient(&http.Client{Transport: cancelOnReply{base: dc.HTTPClient().Transport, cancel: cancel}}))
	require.NoError(t, err)
	t.Cleanup(func() { dc.Close() })
	return cancelSafe{dc}
}

// A build cancelled while the engine creates a container leaves no
// container behind: pack removes a phase's container by the id the
// creation returns, and a cancelled creation returned none although the
// engine had made the container (TestBuild_InterruptRemovesTheBuildContainer
// found one left now and then).
func TestContainerCreate_CancelledMidwayLeavesNoContainer(t *testing.T) {
	e := needEngine(t)
	if _, _, ok, err := e.imageInfo(context.Background(), DefaultBuilder); err != nil || !ok {
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("no builder %s (%s is set): %v", DefaultBuilder, requireEnv, err)
		}
		t.Skipf("SKIPPED: no builder %s to create a container of (scripts/setup-buildpacks.sh)", DefaultBuilder)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dc := cancellingClient(t, cancel)

	label := fmt.Sprintf("kserve-gen-test.cancelled-create=%d", os.Getpid())
	left := func() []string {
		list, err := e.docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
		require.NoError(t, err)
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		return ids
	}
	t.Cleanup(func() {
		for _, id := range left() {
			_ = e.docker.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true})
		}
	})

	resp, err := dc.ContainerCreate(ctx, &container.Config{Image: DefaultBuilder, Cmd: []string{"true"}, Labels: map[string]string{"kserve-gen-test.cancelled-create": fmt.Sprint(os.Getpid())}}, nil, nil, nil, "")
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, resp.ID)
	assert.Empty(t, left(), "the container the engine made is left in it")
}

// A cancelled build's ephemeral network is removed: pack removes it with
// the build's context, which Ctrl+C has cancelled by then, and every
// interrupted build left a pack.local-network-… in the engine.
func TestNetworkRemove_WithTheBuildCancelled(t *testing.T) {
	e := needEngine(t)
	name := fmt.Sprintf("kserve-gen-test-cancelled-%d", os.Getpid())
	resp, err := e.docker.NetworkCreate(context.Background(), name, network.CreateOptions{Driver: "bridge"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.docker.NetworkRemove(context.Background(), resp.ID) })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, cancelSafe{e.docker}.NetworkRemove(ctx, name))
	_, err = e.docker.NetworkInspect(context.Background(), resp.ID, network.InspectOptions{})
	assert.True(t, cerrdefs.IsNotFound(err), "the network is still in the engine: %v", err)
}

// A build cancelled while the engine creates its network leaves no
// network: the creation runs to its end and the network is removed.
func TestNetworkCreate_CancelledMidwayLeavesNoNetwork(t *testing.T) {
	needEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dc := cancellingClient(t, cancel)
	name := fmt.Sprintf("kserve-gen-test-cancelled-create-%d", os.Getpid())
	t.Cleanup(func() { _ = dc.Client.NetworkRemove(context.Background(), name) })

	resp, err := dc.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge"})
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, resp.ID)
	_, err = dc.Client.NetworkInspect(context.Background(), name, network.InspectOptions{})
	assert.True(t, cerrdefs.IsNotFound(err), "the network the engine made is left in it: %v", err)
}
