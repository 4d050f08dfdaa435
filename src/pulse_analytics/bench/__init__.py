"""`pulse bench`: how fast the views and dashboards answer, and how that grows with the amount of telemetry.

For each size (telemetry rows) it seeds a demo warehouse, times `dbt build`, times queries on the views against lower
bounds that read the same rows without the views (engine.py), then times every chart's chart-data call and every
dashboard's render in a running Superset (superset.py), and writes results.json, REPORT.md and bench.png (report.py).
Every measured process runs as a child of its own, so its peak memory is the kernel's count for that process alone.
"""
