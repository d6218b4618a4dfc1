package buildpack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// ErrNoRegistry is a push of an image whose name names no registry of the
// user's: Docker would send it to Docker Hub's official library.
var ErrNoRegistry = errors.New("the image name has no registry")

// Pushable parses ref and refuses one that would go to Docker Hub's
// official library ("custom-model:latest"): a project image pushed without
// a registry in its name is a mistake, and Docker Hub would refuse it anyway.
func Pushable(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("push: %q is not an image reference: %w", ref, err)
	}
	if r.Context().RegistryStr() == name.DefaultRegistry && strings.HasPrefix(r.Context().RepositoryStr(), "library/") {
		return nil, fmt.Errorf("push %s: %w: name it for yours, e.g. --image registry.example.com/team/%s",
			ref, ErrNoRegistry, strings.TrimPrefix(r.Context().RepositoryStr(), "library/")+":"+r.Identifier())
	}
	return r, nil
}

// Push sends image ref from the engine to its registry, as docker push does,
// with the credentials keychain holds for that registry (the Docker config
// and its credential helpers for authn.DefaultKeychain). The registry's
// progress lines go to log (nil discards them). It returns the digest the
// registry stored the manifest under.
func (e *Engine) Push(ctx context.Context, ref string, keychain authn.Keychain, log io.Writer) (string, error) {
	r, err := Pushable(ref)
	if err != nil {
		return "", err
	}
	auth, err := keychain.Resolve(r.Context().Registry)
	if err != nil {
		return "", fmt.Errorf("push %s: credentials for %s: %w", ref, r.Context().RegistryStr(), err)
	}
	cfg, err := auth.Authorization()
	if err != nil {
		return "", fmt.Errorf("push %s: credentials for %s: %w", ref, r.Context().RegistryStr(), err)
	}
	encoded, err := registry.EncodeAuthConfig(registry.AuthConfig{
		Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
		IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken,
		ServerAddress: r.Context().RegistryStr(),
	})
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	rc, err := e.docker.ImagePush(ctx, r.Name(), image.PushOptions{RegistryAuth: encoded})
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	defer rc.Close()
	if log == nil {
		log = io.Discard
	}
	var digest string
	err = jsonmessage.DisplayJSONMessagesStream(rc, log, 0, false, func(m jsonmessage.JSONMessage) {
		var aux struct {
			Digest string `json:"Digest"`
		}
		if m.Aux != nil && json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
			digest = aux.Digest
		}
	})
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	if digest == "" {
		return "", fmt.Errorf("push %s: the engine reported no digest", ref)
	}
	return digest, nil
}
