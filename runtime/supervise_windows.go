package runtime

import (
	"context"
	"errors"
	"net"

	"github.com/kserve-gen/kserve-gen/runtime/model"
)

// Windows has no SO_REUSEPORT, so --workers N (N > 1) cannot share the
// HTTP port; config.Validate refuses it, naming the flag, before Run
// starts anything. These are never reached.

var errNoWorkers = errors.New("--workers above 1 needs SO_REUSEPORT, which Windows does not have")

func (s *Server) supervise(context.Context, []model.Model) error { return errNoWorkers }

func listenReusePort(context.Context, string) (net.Listener, error) { return nil, errNoWorkers }

// answerHeartbeat has no supervisor to answer: no worker runs on Windows.
func answerHeartbeat() {}
