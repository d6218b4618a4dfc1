package storage

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dockerBase is a local image with a shell to build modelcars from: the
// run image scripts/setup-buildpacks.sh makes. With
// KSERVE_GEN_REQUIRE_BUILDPACKS=1 (CI) its absence fails the test.
func dockerBase(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "kserve-gen/cnb-run").Output()
	base, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil || base == "" {
		if os.Getenv("KSERVE_GEN_REQUIRE_BUILDPACKS") == "1" {
			t.Fatalf("no Docker engine with the kserve-gen/cnb-run image (scripts/setup-buildpacks.sh makes it): %v %s", err, out)
		}
		t.Skip("no Docker engine with the kserve-gen/cnb-run image; scripts/setup-buildpacks.sh makes it")
	}
	return base
}

// A modelcar built and pushed by the Docker engine, as KServe's
// documentation builds one (COPY into /models), plus a RUN that deletes a
// copied file, which Docker records as a whiteout in a later layer: the
// client reads what Docker writes, not only what the tests' own images
// hold.
func TestOCI_DockerBuiltModelcar(t *testing.T) {
	base := dockerBase(t)
	o := newOCIRegistry(t)
	ctx := context.Background()
	src := t.TempDir()
	for name, body := range map[string]string{
		"models/model.onnx":       "weights",
		"models/old.bin":          "stale",
		"models/sub/config.json":  "{}",
		"models/sub/tokenizer.db": "vocab",
	} {
		mkfileWith(t, filepath.Join(src, name), body)
	}
	mkfileWith(t, filepath.Join(src, "Dockerfile"), "FROM "+base+"\nUSER root\nCOPY models/ /models/\n"+
		"RUN rm /models/old.bin /models/sub/tokenizer.db && mkdir /models/extra && echo -n x > /models/extra/x.txt && ln -s model.onnx /models/latest\n")
	tag := o.host + "/modelcar:v1"
	docker := func(args ...string) {
		t.Helper()
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		require.NoError(t, err, "docker %s: %s", strings.Join(args, " "), out)
	}
	docker("build", "-q", "-t", tag, src)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	docker("push", tag) // Docker treats a registry on 127.0.0.0/8 as plain HTTP, as this client does

	d := ociEnv(t)
	dir, err := d.resolver().Resolve(ctx, "oci://"+tag)
	require.NoError(t, err)
	assert.Equal(t, []string{"extra/x.txt=x", "latest->model.onnx", "model.onnx=weights", "sub/config.json={}"}, tree(t, dir))
}

func mkfileWith(t *testing.T, p, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}
