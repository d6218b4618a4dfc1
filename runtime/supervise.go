//go:build unix

package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kserve-gen/kserve-gen/runtime/model"
)

// supervise is --workers N: N copies of this program serve REST on the
// shared HTTP port (SO_REUSEPORT) while this process serves gRPC, as
// KServe's multi-process mode does. A worker that dies, or stops answering
// the heartbeat (heartbeat.go), is restarted (with a growing back-off while
// it keeps dying at once); on shutdown every worker gets SIGTERM and the
// time its own shutdown may take (the grace period's drain, then its
// models' Unload), then SIGKILL.
func (s *Server) supervise(ctx context.Context, models []model.Model) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable for --workers: %w", err)
	}
	// KServe's supervisor binds the port itself, so a port another process
	// holds stops it at start; workers that could never bind it would be
	// restarted for ever.
	if s.httpLn == nil {
		if err := checkPortFree(s.cfg.HTTPPort); err != nil {
			return fmt.Errorf("listen on http port %d: %w", s.cfg.HTTPPort, err)
		}
	}
	s.log.Info(fmt.Sprintf("Starting %d HTTP worker processes", s.cfg.Workers))
	// Before the workers start: they find its folder in their environment.
	if pod, err := newPodMetrics(s.cfg.Workers, s.log); err != nil {
		s.log.Warn(fmt.Sprintf("/metrics will be each process's own, not the pod's: %v", err))
	} else {
		s.pod = pod
		defer pod.close() // once the workers have stopped (below)
	}
	var wg sync.WaitGroup
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.keepWorker(wctx, exe, i)
		}()
	}
	err = s.serve(ctx, models, false)
	cancel()
	wg.Wait()
	return err
}

func (s *Server) keepWorker(ctx context.Context, exe string, i int) {
	backoff := 100 * time.Millisecond
	for {
		started := time.Now()
		if s.runWorker(ctx, exe, i) {
			return
		}
		if time.Since(started) > 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// runWorker runs worker i until it exits, stops answering the heartbeat
// (killed), or ctx ends (stopped within the grace period; then it returns
// true).
func (s *Server) runWorker(ctx context.Context, exe string, i int) (stopped bool) {
	args := os.Args[1:]
	if s.cfg.StorageURI != "" && s.cfg.ModelDir != "" {
		// Resolved (perhaps downloaded) once, here, for every worker.
		args = withModelDir(args, s.cfg.ModelDir)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", workerEnv, i), heartbeatEnv+"=1")
	if s.pod != nil {
		cmd.Env = append(cmd.Env, metricsDirEnv+"="+s.pod.dir)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// A worker must not outlive its supervisor (SIGKILL leaves no time
	// to stop it), or it would keep serving the port with no restarts.
	cmd.SysProcAttr = workerProcAttr()
	hb, err := newHeartbeat()
	if err != nil {
		s.log.Error(fmt.Sprintf("start worker %d: %v", i, err))
		return false
	}
	defer hb.close()
	cmd.ExtraFiles = []*os.File{hb.childPing, hb.childPong} // fds 3 and 4
	err = cmd.Start()
	hb.started()
	if err != nil {
		s.log.Error(fmt.Sprintf("start worker %d: %v", i, err))
		return false
	}
	s.log.Info(fmt.Sprintf("Started worker %d (pid %d)", i, cmd.Process.Pid))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	hung := make(chan error, 1)
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	defer stopHeartbeat()
	go func() {
		if err := hb.watch(hbCtx, heartbeatInterval, heartbeatTimeout, heartbeatFirstTimeout); err != nil {
			hung <- err
		}
	}()
	select {
	case err := <-done:
		s.log.Warn(fmt.Sprintf("Worker %d (pid %d) exited: %v; restarting", i, cmd.Process.Pid, exitText(err)))
		return false
	case err := <-hung:
		s.log.Warn(fmt.Sprintf("Worker %d (pid %d): %v; killing and restarting it", i, cmd.Process.Pid, err))
		_ = cmd.Process.Kill()
		<-done
		return false
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		limit := shutdownTime(s.cfg.GracePeriod) + workerExitTime
		select {
		case <-done:
		case <-time.After(limit):
			// Killed only once its own shutdown has overrun: at the
			// grace period alone, a worker still in its models'
			// Unload was cut off (a model flushing state, a GPU
			// session releasing its memory).
			s.log.Warn(fmt.Sprintf("Worker %d (pid %d) still running %s after SIGTERM; killing it", i, cmd.Process.Pid, limit))
			_ = cmd.Process.Kill()
			<-done
		}
		return true
	}
}

// workerExitTime is what a worker may take beyond its shutdown's bounds
// to flush its log and exit.
const workerExitTime = time.Second

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.String()
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// withModelDir adds --model_dir=dir to a worker's arguments, before a "--"
// (after which the parser reads no flags).
func withModelDir(args []string, dir string) []string {
	i := slices.Index(args, "--")
	if i < 0 {
		i = len(args)
	}
	return slices.Insert(slices.Clip(args), i, "--model_dir="+dir)
}

// checkPortFree binds, without listening, a socket to port on all
// addresses as the workers will, but without SO_REUSEPORT, and reports
// "listen tcp :8080: bind: address already in use" for a port any other
// process holds. With SO_REUSEPORT the check passed for a port another
// kserve-gen server of the same user held, and the workers then shared
// its connections.
func checkPortFree(port int) error {
	family := unix.AF_INET6
	fd, err := streamSocket(family)
	if err != nil { // no IPv6: net.Listen binds 0.0.0.0 then
		family = unix.AF_INET
		fd, err = streamSocket(family)
	}
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: port}
	opts := [][3]int{{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1}}
	if family == unix.AF_INET6 {
		sa = &unix.SockaddrInet6{Port: port}
		opts = append(opts, [3]int{unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0})
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o[0], o[1], o[2]); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return &net.OpError{Op: "listen", Net: "tcp", Addr: &net.TCPAddr{Port: port}, Err: os.NewSyscallError("bind", err)}
	}
	return nil
}

// listenReusePort binds addr with SO_REUSEPORT so --workers processes can
// share the port; the kernel spreads connections across them.
func listenReusePort(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		return errors.Join(err, serr)
	}}
	return lc.Listen(ctx, "tcp", addr)
}
