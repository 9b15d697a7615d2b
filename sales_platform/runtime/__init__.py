"""How the platform runs on one machine: the Dagster instance under SALES_PLATFORM_HOME, the
run launcher that can tell a dead run from a live one, the lock that keeps one orchestrator per
home, and the process groups that stop as one."""
