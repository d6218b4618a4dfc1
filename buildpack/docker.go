package buildpack

import (
	"context"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	dockerclient "github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// createCompletes is the Docker client pack builds with, changed in one
// call: a container's creation is not cancelled half-way. Cancelled
// (Ctrl+C during a build) while its request was at the engine, the client
// returned only the context's error, without the id of the container the
// engine had made: pack, which removes a phase's container by that id,
// had nothing to remove, and the container stayed in the engine. Here the
// creation runs to its end; when the build was cancelled meanwhile, the
// container is removed at once and the cancellation returned, as if it had
// never been made.
type createCompletes struct {
	*dockerclient.Client
}

func (c createCompletes) ContainerCreate(ctx context.Context, config *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error) {
	resp, err := c.Client.ContainerCreate(context.WithoutCancel(ctx), config, host, net, platform, name)
	if err != nil || ctx.Err() == nil {
		return resp, err
	}
	_ = c.Client.ContainerRemove(context.WithoutCancel(ctx), resp.ID, container.RemoveOptions{Force: true})
	return container.CreateResponse{}, ctx.Err()
}
