package main

// networkWorkloads is the hook for the network figures of the issue
// (published-port TCP throughput with iperf3 against host loopback, the
// floor): they are not measured yet. A network workload is added here as
//
//	workload{name: "net", applies: hasAPI, measure: netWorkload}
//
// with measure returning one row per figure and engine (unit unitMbps or
// unitMs); host loopback is a further engine of its own, like the runc
// floor, whose applies is true only for the network workloads, and the
// target "at least 70% of host loopback" goes into targets (report.go).
// allWorkloads runs them after the API workload and before the restarts.
var networkWorkloads []workload
