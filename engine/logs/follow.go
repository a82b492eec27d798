package logs

import (
	"context"
	"os"
	"time"

	"github.com/containerd/log"
)

// pollInterval is how often a follower looks at the file when no write in
// this process woke it (a writer in another process, a missed rotation).
const pollInterval = 100 * time.Millisecond

// follow sends the lines appended to the log until ctx ends, Until passes,
// or Stopped closes and the rest is drained.
func (r *reader) follow(ctx context.Context) {
	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
	var until <-chan time.Time
	if !r.ro.Until.IsZero() {
		// Later entries would all be past Until: stop then rather than
		// wait for one (dockerd waits for the next entry to notice).
		t := time.NewTimer(time.Until(r.ro.Until))
		defer t.Stop()
		until = t.C
	}
	stopped := r.ro.Stopped
	last := false
	for {
		changed := r.sh.wait()
		if !r.catchUp(ctx) || last {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-stopped:
			last = true
		case <-until:
			last = true
		case <-changed:
		case <-poll.C:
		}
	}
}

// catchUp sends everything written so far, moving on to the new file(s)
// if the log was rotated. It returns false when the reading is over.
func (r *reader) catchUp(ctx context.Context) bool {
	for {
		if r.cur == nil && !r.openCurrent() {
			return true // not created yet, or between rename and create
		}
		if !r.sendLines(ctx, r.cur) {
			return false
		}
		fi, err := os.Stat(r.path)
		if err != nil || os.SameFile(fi, r.curFI) {
			return true
		}
		// Rotated. The old file is complete: the writer finishes with it
		// before renaming it. Drain what was added since the read above.
		if !r.sendLines(ctx, r.cur) {
			return false
		}
		newer, err := r.openNewer()
		r.cur.f.Close()
		r.cur = nil
		if err != nil {
			log.G(ctx).WithError(err).WithField("file", r.path).Warn("cannot follow log after rotation")
			return false
		}
		if !r.sendNewer(ctx, newer) {
			return false
		}
	}
}

// openCurrent opens path to follow it from its start.
func (r *reader) openCurrent() bool {
	r.sh.fsop.RLock()
	lf, err := openLog(r.path)
	r.sh.fsop.RUnlock()
	if err != nil {
		return false
	}
	r.cur, r.curFI = newLineReader(lf.f, 0, -1), lf.fi
	return true
}

// openNewer opens the files written after the one being followed: the
// rotated files newer than it and the new current file. If it is not
// among the rotated files any more, more rotations happened than there
// are files and every rotated file is newer (lines were lost, as with
// dockerd when a reader falls that far behind).
func (r *reader) openNewer() ([]logFile, error) {
	r.sh.fsop.RLock()
	defer r.sh.fsop.RUnlock()
	k := r.opts.MaxFiles
	for i := 1; i < r.opts.MaxFiles; i++ {
		fi, err := os.Stat(rotatedName(r.path, i))
		if err == nil && os.SameFile(fi, r.curFI) {
			k = i
			break
		}
	}
	return openSet(r.path, k)
}

// sendNewer sends the rotated files of newer whole and makes its current
// file r.cur.
func (r *reader) sendNewer(ctx context.Context, newer []logFile) bool {
	for i, lf := range newer {
		if lf.current {
			r.cur, r.curFI = newLineReader(lf.f, 0, -1), lf.fi
			continue
		}
		ok := r.sendLines(ctx, newLineReader(lf.f, 0, -1))
		lf.f.Close()
		if !ok {
			closeAll(newer[i+1:])
			return false
		}
	}
	return true
}
