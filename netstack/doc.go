// Package netstack holds the mechanics of container networking inside the
// RootlessKit namespace: bridges and veths through the CNI plugins, the
// outbound masquerade, published ports through RootlessKit's port driver,
// and the per-network DNS resolver. It knows nothing of Docker's API; the
// network service in engine/networks decides what to connect and where.
package netstack
