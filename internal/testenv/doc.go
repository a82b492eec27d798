// Package testenv is what the harnesses around a real engine share: the
// unprivileged account an engine runs as (created and made ready when the
// caller is root), and what /proc says about the processes an engine
// leaves. The e2e suite (tests/e2e), the bench (tests/bench) and the
// containerd test daemons (engine/internal/ctrtest) use it, so that they
// agree on what "ready" and "left behind" mean.
package testenv
