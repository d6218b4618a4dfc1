package buildpack

import (
	"context"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	dockerclient "github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// cancelSafe is the Docker client pack builds with, changed where a
// cancelled build (Ctrl+C) left something in the engine: what a build
// creates is created to the end and then removed when the build was
// cancelled meanwhile, and what it removes is removed even though the
// build's context is cancelled.
type cancelSafe struct {
	*dockerclient.Client
}

// ContainerCreate is not cancelled half-way. Cancelled while its request
// was at the engine, the client returned only the context's error, without
// the id of the container the engine had made: pack, which removes a
// phase's container by that id, had nothing to remove, and the container
// stayed in the engine. Here the creation runs to its end; when the build
// was cancelled meanwhile, the container is removed at once and the
// cancellation returned, as if it had never been made.
func (c cancelSafe) ContainerCreate(ctx context.Context, config *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error) {
	resp, err := c.Client.ContainerCreate(context.WithoutCancel(ctx), config, host, net, platform, name)
	if err != nil || ctx.Err() == nil {
		return resp, err
	}
	_ = c.Client.ContainerRemove(context.WithoutCancel(ctx), resp.ID, container.RemoveOptions{Force: true})
	return container.CreateResponse{}, ctx.Err()
}

// NetworkCreate completes as ContainerCreate does: pack removes its
// ephemeral network (pack.local-network-…) only once the creation
// returned it.
func (c cancelSafe) NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error) {
	resp, err := c.Client.NetworkCreate(context.WithoutCancel(ctx), name, options)
	if err != nil || ctx.Err() == nil {
		return resp, err
	}
	_ = c.Client.NetworkRemove(context.WithoutCancel(ctx), resp.ID)
	return network.CreateResponse{}, ctx.Err()
}

// NetworkRemove removes the network whether or not the build was
// cancelled. Pack removes its ephemeral network with the build's context,
// which a Ctrl+C has cancelled by then (it removes containers and volumes
// with a fresh one): every interrupted build left a network in the engine,
// each holding one of the engine's few default address ranges.
func (c cancelSafe) NetworkRemove(ctx context.Context, id string) error {
	return c.Client.NetworkRemove(context.WithoutCancel(ctx), id)
}
