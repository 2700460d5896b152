"""Network configuration for the ramdisk: a pure planner (kernel `ip=` or OpenStack network_data.json ->
a `NetworkPlan` -> systemd-networkd files) apart from the small writer that puts the files in place.

The documented entry point is `teeth_agent.netconfig.plan.plan_network(cmdline, network_data)`.
"""
