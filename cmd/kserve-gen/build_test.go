package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	packlog "github.com/buildpacks/pack/pkg/logging"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/buildpack"
	"github.com/kserve-gen/kserve-gen/project"
)

// needBuilder skips (or, with KSERVE_GEN_REQUIRE_BUILDPACKS set, as CI
// does, fails) unless a Docker engine answers and holds kserve-gen's
// builder (scripts/setup-buildpacks.sh).
func needBuilder(t *testing.T) {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("KSERVE_GEN_REQUIRE_BUILDPACKS") != "" {
		fail = t.Fatalf
	}
	e, err := buildpack.NewEngine(context.Background())
	if err != nil {
		fail("SKIPPED: %v", err)
		return
	}
	defer e.Close()
	ok, err := e.ImageExists(context.Background(), buildpack.DefaultBuilder)
	require.NoError(t, err)
	if !ok {
		fail("SKIPPED: no builder %s in the Docker engine (run scripts/setup-buildpacks.sh)", buildpack.DefaultBuilder)
	}
}

// TestBuild_ImageAnswersTheReadmeRequest is the README's image section as a
// user runs it: kserve-gen new, kserve-gen build, docker run, and the
// README's request must get the README's answer from the container; docker
// stop must stop the server cleanly (exit 0). The project folder must come
// out of the build unchanged. Then, on the same images: a rebuild after an
// edit, container arguments, and a build that fails.
func TestBuild_ImageAnswersTheReadmeRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds container images")
	}
	needBuilder(t)
	work, bin := buildCLI(t)
	// Images are removed when the whole test ends: later subtests use them.
	removeImage := func(image string) { t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() }) }

	for _, tmpl := range []string{"rest", "grpc", "onnx"} {
		t.Run(tmpl, func(t *testing.T) {
			name := "img-" + tmpl
			runIn(t, work, bin, "new", name, "--template", tmpl, "--yes")
			dir := filepath.Join(work, name)
			before := snapshot(t, dir)
			image := "kserve-gen-test/" + name + ":v1"
			removeImage(image)

			leftInTmp := ownTmp(t, work, tmpl)
			got := runOut(t, dir, bin, "build", "--image", image)
			assert.Contains(t, got, "Built "+image+" in ")
			leftInTmp()
			ports := "-p 8080:8080 "
			if tmpl == "grpc" {
				ports += "-p 8081:8081 "
			}
			assert.Contains(t, got, "docker run --rm "+ports+image+"\n")
			assert.Equal(t, before, snapshot(t, dir), "the project folder after kserve-gen build")

			path, want, body := readmeRequest(t, dir)
			assert.Equal(t, want, serveImage(t, image, path, body))
		})
	}

	// An openai or timeseries project's image answers the README's first
	// request (the chat, the forecast of input.json) as the README shows,
	// but for the answer's ids and time: its Procfile and main.go are its
	// template's own.
	for _, tc := range []struct {
		tmpl, end, marker string
		stamps            *regexp.Regexp
	}{
		{"openai", "### OpenAI's clients", "localhost:8080/openai/", openAIStamps},
		{"timeseries", "## Build the image", "localhost:8080/v1/", timeSeriesStamps},
	} {
		t.Run(tc.tmpl, func(t *testing.T) {
			name := "img-" + tc.tmpl
			runIn(t, work, bin, "new", name, "--template", tc.tmpl, "--yes")
			dir := filepath.Join(work, name)
			image := "kserve-gen-test/" + name + ":v1"
			removeImage(image)
			got := runOut(t, dir, bin, "build", "--image", image)
			assert.Contains(t, got, "Built "+image+" in ")
			assert.Contains(t, got, "docker run --rm -p 8080:8080 "+image+"\n")

			x := readmeExchanges(t, dir, tc.end, tc.marker)[0]
			require.NotNil(t, x.want, "the README's output of %s", x.cmds)
			got = serveImageWith(t, image, func(base string) string { return x.run(t, dir, base) })
			assert.Equal(t, tc.stamps.ReplaceAllString(*x.want, "STAMP"), tc.stamps.ReplaceAllString(got, "STAMP"))
		})
	}

	// A transformer's image answers only with a predictor to call: the
	// docker run that kserve-gen build prints and the README gives points
	// it at the predictor the README starts on this machine (port 8085;
	// here a free one), and kserve-gen deploy needs the predictor's image.
	t.Run("transformer", func(t *testing.T) {
		const name = "img-tx"
		runIn(t, work, bin, "new", name, "--template", "transformer", "--yes")
		dir := filepath.Join(work, name)
		image := "kserve-gen-test/" + name + ":v1"
		removeImage(image)
		got := runOut(t, dir, bin, "build", "--image", image)
		run := "docker run --rm -p 8080:8080 --add-host=host.docker.internal:host-gateway " + image + " --predictor_host=host.docker.internal:8085"
		assert.Contains(t, got, "\n  "+run+"\n")
		assert.Contains(t, got, "\n  kserve-gen deploy --image "+image+" --predictor-image PREDICTOR_IMAGE\n")
		readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
		require.NoError(t, err)
		assert.Contains(t, string(readme), "\n"+strings.ReplaceAll(run, image, "registry.example.com/"+name+":v1")+"\n")

		// The README's predictor: a rest project serving the model name.
		pdir := filepath.Join(work, name+"-predictor")
		runIn(t, work, bin, "new", name+"-predictor", "--template", "rest", "--yes")
		pbin := filepath.Join(pdir, "predictor")
		runIn(t, pdir, "go", "build", "-o", pbin, ".")
		pred := startServer(t, pbin, pdir, nil, "--model_name="+name)
		predPort := pred.URL[strings.LastIndex(pred.URL, ":")+1:]

		// The printed command, detached, on free ports.
		port := freePort(t)
		var args []string
		for _, a := range strings.Fields(run)[2:] {
			switch {
			case a == "--rm":
				a = "-d" // kept, for its log and exit status
			case a == "8080:8080":
				a = fmt.Sprintf("127.0.0.1:%d:8080", port)
			case strings.HasSuffix(a, ":8085"):
				a = strings.TrimSuffix(a, "8085") + predPort
			}
			args = append(args, a)
		}
		cid := strings.TrimSpace(runOut(t, "", "docker", append([]string{"run"}, args...)...))
		t.Cleanup(func() {
			if t.Failed() {
				logs, _ := exec.Command("docker", "logs", cid).CombinedOutput()
				t.Logf("container logs:\n%s", logs)
			}
			_ = exec.Command("docker", "rm", "-f", cid).Run()
		})
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		waitReady(t, base+"/v2/health/ready")
		path, want, body := readmeRequest(t, dir)
		code, answer := postJSON(t, base+path, body)
		assert.Equal(t, http.StatusOK, code, "%s", answer)
		assert.Equal(t, want, answer)
	})

	// A rebuild after an edit serves the edit (the Go build cache the
	// builder keeps between builds must not serve the old binary).
	t.Run("rebuild", func(t *testing.T) {
		dir := filepath.Join(work, "img-rest")
		if _, err := os.Stat(dir); err != nil {
			t.Skip("needs the rest subtest's project")
		}
		model := filepath.Join(dir, "model.go")
		src, err := os.ReadFile(model)
		require.NoError(t, err)
		edited := bytes.Replace(src, []byte("const topK = 5"), []byte("const topK = 3"), 1)
		require.NotEqual(t, src, edited, "model.go has no topK constant to edit")
		require.NoError(t, os.WriteFile(model, edited, 0o644))
		// This time the image is named in kserve-gen.yaml, as for deploy
		// (build and deploy then agree without --image), for a registry:
		// a real one (go-containerregistry's) on loopback, which the engine
		// reaches without TLS as it does any 127.0.0.0/8 registry.
		reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		defer reg.Close()
		image := strings.TrimPrefix(reg.URL, "http://") + "/kserve-gen-test/img-rest:v2"
		removeImage(image)
		// The registry's port is new each run, and so is the repository
		// with its cache volumes (250 MB a run were left) and its key in
		// ~/.pack/volume-keys.toml.
		t.Setenv("PACK_VOLUME_KEY", "kserve-gen-test")
		removeCacheVolumes(t, image)
		pf, err := project.Load(dir)
		require.NoError(t, err)
		pf.Image = image
		require.NoError(t, pf.Save(dir))
		got := runOut(t, dir, bin, "build", "--publish")
		assert.Contains(t, got, "Built "+image+" in ")
		m := regexp.MustCompile(`\nPushed (\S+) \((sha256:[0-9a-f]{64})\)\. Print its InferenceService:\n  kserve-gen deploy    # the image in kserve-gen.yaml\n`).FindStringSubmatch(got)
		require.NotNil(t, m, got)
		assert.Equal(t, image, m[1])
		assert.NotContains(t, got, "docker push")
		assert.Contains(t, runOut(t, dir, bin, "deploy"), "image: "+image+"\n")
		// The registry holds the image under that digest, a buildpacks image.
		cfg := pushedConfig(t, image, m[2])
		assert.Contains(t, cfg.Config.Labels, "io.buildpacks.lifecycle.metadata")
		body, err := os.ReadFile(filepath.Join(dir, "input.json"))
		require.NoError(t, err)
		assert.Equal(t, `{"predictions":[[46.875,25.0,18.75]]}`, serveImage(t, image, "/v1/models/img-rest:predict", body))
	})

	// Another tag of an image is built with the cache volumes of the first:
	// pack names them after the whole reference, so each new tag (one per
	// commit, say) made a new pair of volumes, 250 MB, that nothing used
	// again or removed.
	t.Run("another tag", func(t *testing.T) {
		dir := filepath.Join(work, "img-rest")
		if exec.Command("docker", "image", "inspect", "kserve-gen-test/img-rest:v1").Run() != nil {
			t.Skip("needs the rest subtest's image")
		}
		tag := fmt.Sprintf("tag-%d", os.Getpid())
		image := "kserve-gen-test/img-rest:" + tag
		removeImage(image)
		got := runOut(t, dir, bin, "build", "--image", image)
		assert.Contains(t, got, "Built "+image+" in ")
		caches, err := buildpack.CacheVolumes("kserve-gen-test/img-rest:v1", packlog.NewSimpleLogger(io.Discard))
		require.NoError(t, err)
		for _, v := range []string{caches.Build.Source, caches.Launch.Source} {
			assert.NoError(t, exec.Command("docker", "volume", "inspect", v).Run(), "cache volume %s", v)
		}
		out, err := exec.Command("docker", "volume", "ls", "-q", "--filter", "name=pack-cache-kserve-gen-test_img-rest_"+tag).Output()
		require.NoError(t, err)
		assert.Empty(t, strings.Fields(string(out)), "cache volumes of the tag %s alone", tag)
	})

	// The container's arguments reach the server after the Procfile's own,
	// as an InferenceService's args do (KServe passes --model_name,
	// --http_port, --workers and the user's arguments this way).
	t.Run("container arguments", func(t *testing.T) {
		const image = "kserve-gen-test/img-rest:v1"
		if exec.Command("docker", "image", "inspect", image).Run() != nil {
			t.Skip("needs the rest subtest's image")
		}
		base, _ := startImage(t, image, 9000, "--model_name=renamed", "--http_port=9000")
		waitReady(t, base+"/v1/models/renamed")
		resp, err := http.Get(base + "/v1/models/renamed")
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, `{"name":"renamed","ready":true}`, string(got))
	})

	// A project that does not compile: the build fails and its error
	// carries the compiler's message from the build container, without
	// pack's colours.
	t.Run("compile error", func(t *testing.T) {
		runIn(t, work, bin, "new", "broken", "--template", "rest", "--yes")
		dir := filepath.Join(work, "broken")
		f, err := os.OpenFile(filepath.Join(dir, "model.go"), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString("\nfunc broken() { undefinedThing() }\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())

		removeImage("kserve-gen-test/broken:v1") // should the build succeed after all
		cmd := exec.Command(bin, "build", "--image", "kserve-gen-test/broken:v1")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%s", out)
		assert.Contains(t, string(out), "Error: build kserve-gen-test/broken:v1 with kserve-gen/builder:latest: executing lifecycle: failed with status code: 51\n")
		assert.Contains(t, string(out), "\n./model.go:")
		assert.Contains(t, string(out), ": undefined: undefinedThing\n")
		assert.NotContains(t, string(out), "\x1b[", "terminal colour codes")
	})
}

// removeCacheVolumes removes the build's cache volumes of image's
// repository when the test ends.
func removeCacheVolumes(t *testing.T, image string) {
	t.Helper()
	caches, err := buildpack.CacheVolumes(image, packlog.NewSimpleLogger(io.Discard))
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, v := range []string{caches.Build.Source, caches.Launch.Source, caches.Kaniko.Source} {
			_ = exec.Command("docker", "volume", "rm", v).Run()
		}
	})
}

// serveImage runs image, posts body to path on it, stops it, and returns
// the answer; the server must answer 200 and exit 0 on docker stop.
func serveImage(t *testing.T, image, path string, body []byte) string {
	t.Helper()
	return serveImageWith(t, image, func(base string) string {
		code, got := postJSON(t, base+path, body)
		assert.Equal(t, http.StatusOK, code, "%s", got)
		return got
	})
}

// serveImageWith runs image, once it is ready has ask make its requests to
// the server at base, stops it, and returns what ask returned; the server
// must exit 0 on docker stop.
func serveImageWith(t *testing.T, image string, ask func(base string) string) string {
	t.Helper()
	base, cid := startImage(t, image, 8080)
	waitReady(t, base+"/v2/health/ready")
	got := ask(base)

	runOut(t, "", "docker", "stop", cid)
	assert.Equal(t, "0", strings.TrimSpace(runOut(t, "", "docker", "inspect", "-f", "{{.State.ExitCode}}", cid)),
		"the server's exit status on docker stop (SIGTERM)")
	return got
}

// startImage runs image with args, its containerPort published on a free
// loopback port, and returns that port's URL and the container's id. The
// container is removed (its log shown on failure) when the test ends.
func startImage(t *testing.T, image string, containerPort int, args ...string) (base, cid string) {
	t.Helper()
	port := freePort(t)
	run := append([]string{"run", "-d", "-p", fmt.Sprintf("127.0.0.1:%d:%d", port, containerPort), image}, args...)
	cid = strings.TrimSpace(runOut(t, "", "docker", run...))
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command("docker", "logs", cid).CombinedOutput()
			t.Logf("container logs:\n%s", logs)
		}
		_ = exec.Command("docker", "rm", "-f", cid).Run()
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port), cid
}

// runOut runs a command in dir and returns its standard output.
func runOut(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %s: %s%s", name, strings.Join(args, " "), out, stderr.Bytes())
	return string(out)
}

// ownTmp points the commands the test runs from now on at a temporary
// folder of their own (TMPDIR, a new folder under work) and returns a check
// that they left nothing there: a command that exits before the garbage
// collector runs never removes what a library cleans up only in a finaliser.
func ownTmp(t *testing.T, work, name string) (check func()) {
	t.Helper()
	tmp := filepath.Join(work, "tmp-"+name)
	require.NoError(t, os.Mkdir(tmp, 0o700))
	t.Setenv("TMPDIR", tmp)
	return func() {
		t.Helper()
		left, err := os.ReadDir(tmp)
		require.NoError(t, err)
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		assert.Empty(t, names, "left in the temporary folder %s", tmp)
	}
}

// snapshot maps every file under dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		files[strings.TrimPrefix(p, dir)] = string(data)
		return err
	}))
	return files
}

// A folder that is not a project is reported before the engine is looked
// for: on a machine without Docker, the likelier mistake comes first.
func TestBuild_ProjectCheckedBeforeTheEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err := buildRun(context.Background(), &buildOptions{Dir: dir, Out: &out, ErrOut: &errOut})
	assert.EqualError(t, err, dir+" is not a kserve-gen project (no kserve-gen.yaml): run kserve-gen build in a folder `kserve-gen new` made, or pass --dir")
	assert.Empty(t, out.String())
}

// --publish with an image name that names no registry is refused before the
// engine is asked anything: the build would be wasted.
func TestBuild_PublishNeedsARegistryInTheName(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	work, bin := buildCLI(t)
	runIn(t, work, bin, "new", "pub", "--template", "rest", "--yes")
	var out, errOut bytes.Buffer
	err := buildRun(context.Background(), &buildOptions{Dir: filepath.Join(work, "pub"), Publish: true, Out: &out, ErrOut: &errOut})
	assert.EqualError(t, err, "push pub:latest: the image name has no registry: name it for yours, e.g. --image registry.example.com/team/pub:latest")
	assert.Empty(t, out.String())
}

// A malformed --image is refused before the engine is looked for and before
// "Building ..." is printed: it came after both, so on a machine
// without Docker the user was told to start Docker first.
func TestBuild_ImageCheckedBeforeTheEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	dir := filepath.Join(t.TempDir(), "img")
	f, _, _, _ := testFactory(t)
	require.NoError(t, runCLI(t, f, "new", "img", "--template", "rest", "--yes", "--dir", dir))
	for _, publish := range []bool{false, true} {
		var out, errOut bytes.Buffer
		err := buildRun(context.Background(), &buildOptions{Dir: dir, Image: "Registry/Img:v1", Publish: publish, Out: &out, ErrOut: &errOut})
		assert.EqualError(t, err, `--image: "Registry/Img:v1" is not an image reference like registry.example.com/team/model:v1: could not parse reference: Registry/Img:v1`, "publish %v", publish)
		assert.Empty(t, out.String())
		assert.Empty(t, errOut.String())
	}
}

// A mistyped --pull-policy is refused first, naming the flag, before
// "Building ..." is printed or the engine is asked anything.
func TestBuild_PullPolicyCheckedFirst(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	var out, errOut bytes.Buffer
	err := buildRun(context.Background(), &buildOptions{Dir: t.TempDir(), PullPolicy: "sometimes", Out: &out, ErrOut: &errOut})
	assert.EqualError(t, err, `--pull-policy: pull policy "sometimes": want always, if-not-present or never`)
	assert.Empty(t, out.String())
	assert.Empty(t, errOut.String())
}

// TestBuild_InterruptRemovesTheBuildContainer: Ctrl+C (SIGINT) during the
// build stops it with status 130, and the build container is gone from the
// Docker engine (killed by the signal, kserve-gen left it building, with
// pack's ephemeral builder image, its app volume and the staged project),
// and so are the build's network and volumes (pack removed its network
// with the cancelled context, so every interrupted build left one) and
// anything in the temporary folder.
func TestBuild_InterruptRemovesTheBuildContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image")
	}
	needBuilder(t)
	work, bin := buildCLI(t)
	runIn(t, work, bin, "new", "intr", "--template", "rest", "--yes")
	image := fmt.Sprintf("kserve-gen-test/intr-%d:v1", os.Getpid())
	t.Setenv("PACK_VOLUME_KEY", "kserve-gen-test") // not one more key in ~/.pack
	removeCacheVolumes(t, image)
	// The containers of this build name its image in their command.
	containers := func() []string {
		out, err := exec.Command("docker", "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}").Output()
		require.NoError(t, err)
		var ids []string
		for line := range strings.Lines(string(out)) {
			if strings.Contains(line, image) {
				ids = append(ids, strings.Fields(line)[0])
			}
		}
		return ids
	}
	t.Cleanup(func() {
		for _, id := range containers() {
			_ = exec.Command("docker", "rm", "-f", id).Run()
		}
	})

	leftInTmp := ownTmp(t, work, "intr")
	cmd := exec.Command(bin, "build", "--image", image)
	cmd.Dir = filepath.Join(work, "intr")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(2 * time.Minute)
	var running []string
	for running = containers(); len(running) == 0; running = containers() {
		require.True(t, time.Now().Before(deadline), "no build container appeared: %s", stderr.String())
		time.Sleep(200 * time.Millisecond)
	}
	// The build's ephemeral network and volumes, as its container has them
	// (pack's cache volumes, kept for the next build, aside).
	var ephemeral []string
	inspect, err := exec.Command("docker", "inspect", "-f",
		`{{range $k, $v := .NetworkSettings.Networks}}network {{$k}}{{"\n"}}{{end}}{{range .Mounts}}{{if .Name}}volume {{.Name}}{{"\n"}}{{end}}{{end}}`, running[0]).Output()
	require.NoError(t, err)
	for line := range strings.Lines(string(inspect)) {
		if kind, name, _ := strings.Cut(strings.TrimSpace(line), " "); !strings.HasPrefix(name, "pack-cache-") {
			ephemeral = append(ephemeral, kind+" "+name)
		}
	}
	require.Regexp(t, `network pack\.local-network-`, strings.Join(ephemeral, "\n"), "the build container's network: %s", inspect)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("kserve-gen build did not stop within a minute of Ctrl+C: %s", stderr.String())
	}
	assert.Equal(t, 130, cmd.ProcessState.ExitCode(), stderr.String())
	assert.Contains(t, stderr.String(), "Building "+image+" from "+cmd.Dir+" with kserve-gen/builder:latest...\n")
	assert.Contains(t, stderr.String(), "Error: interrupted: build "+image+" with kserve-gen/builder:latest: ")
	assert.Empty(t, containers(), "build containers left in the Docker engine")
	var left []string
	for _, e := range ephemeral {
		kind, name, _ := strings.Cut(e, " ")
		if exec.Command("docker", kind, "inspect", name).Run() == nil {
			left = append(left, e)
		}
	}
	assert.Empty(t, left, "the build's ephemeral networks and volumes left in the Docker engine")
	leftInTmp()
}

// What kserve-gen build prints to run and deploy the image it built: a
// transformer's docker run reaches a predictor on this machine, and its
// deploy asks for the predictor unless kserve-gen.yaml names one.
func TestBuild_NextSteps(t *testing.T) {
	rest := &project.File{Name: "m", Template: project.TemplateREST, GRPC: true}
	run, deploy := nextSteps(rest, "r/m:v1")
	assert.Equal(t, "Run it:\n  docker run --rm -p 8080:8080 -p 8081:8081 r/m:v1\n", run)
	assert.Equal(t, "kserve-gen deploy --image r/m:v1", deploy)

	tx := &project.File{Name: "tx", Template: project.TemplateTransformer}
	run, deploy = nextSteps(tx, "r/tx:v1")
	assert.Equal(t, "Run it, with a predictor serving model tx on this machine's port 8085 (README.md starts one):\n"+
		"  docker run --rm -p 8080:8080 --add-host=host.docker.internal:host-gateway r/tx:v1 --predictor_host=host.docker.internal:8085\n", run)
	assert.Equal(t, "kserve-gen deploy --image r/tx:v1 --predictor-image PREDICTOR_IMAGE", deploy)

	tx.Image = "r/tx:v1"
	_, deploy = nextSteps(tx, "r/tx:v1")
	assert.Equal(t, "kserve-gen deploy --predictor-image PREDICTOR_IMAGE    # the image in kserve-gen.yaml", deploy)

	tx.Deploy = &project.Deploy{Predictor: &project.Predictor{ModelFormat: "sklearn", StorageURI: "gs://b/m"}}
	_, deploy = nextSteps(tx, "r/tx:v1")
	assert.Equal(t, "kserve-gen deploy    # the image in kserve-gen.yaml", deploy)
}

// What kserve-gen build prints to push the image when it did not push it.
// An image named without a registry (the default, NAME:latest) would go to
// Docker Hub's official library, which --publish refuses and Docker Hub
// denies, so the steps tag it for a registry first instead of printing a
// `docker push` that fails.
func TestBuild_PushSteps(t *testing.T) {
	rest := &project.File{Name: "m", Template: project.TemplateREST}
	assert.Equal(t, "\nPush it and print its InferenceService:\n  docker push r.example.com/m:v1\n  kserve-gen deploy --image r.example.com/m:v1\n",
		pushSteps(rest, "r.example.com/m:v1"))
	assert.Equal(t, "\nm:latest names no registry (docker push would send it to Docker Hub's official library); tag it for yours, push it and print its InferenceService:\n"+
		"  docker tag m:latest registry.example.com/team/m:latest\n"+
		"  docker push registry.example.com/team/m:latest\n"+
		"  kserve-gen deploy --image registry.example.com/team/m:latest\n",
		pushSteps(rest, "m:latest"))

	// The same for an image kserve-gen.yaml names: deploy would run it too.
	tx := &project.File{Name: "tx", Template: project.TemplateTransformer, Image: "tx:v1"}
	assert.Equal(t, "\ntx:v1 names no registry (docker push would send it to Docker Hub's official library); tag it for yours, push it and print its InferenceService:\n"+
		"  docker tag tx:v1 registry.example.com/team/tx:v1\n"+
		"  docker push registry.example.com/team/tx:v1\n"+
		"  kserve-gen deploy --image registry.example.com/team/tx:v1 --predictor-image PREDICTOR_IMAGE\n",
		pushSteps(tx, "tx:v1"))
}
