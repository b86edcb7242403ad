"""What the user reads once everything is up: every URL and the logins."""

from __future__ import annotations

from devstack.children import ADMIN_EMAIL
from devstack.config import HOST, StackConfig


def summary(c: StackConfig, nats_url: str) -> str:
    # Labels padded to one column; "agent local-1 (iad)" is the longest.
    # A stand-in is "local-1 (iad)" (the line below says what they are), an agent
    # "agent local-1 (iad)": both fit the 20-column labels.
    kind, where = ("", "/") if c.machines == "update_config" else ("agent ", "/showcase/status")
    agents = [
        f"  {f'{kind}{a.agent_id} ({a.region})':<20}{a.url}{where}" for a in c.started_machines
    ]
    if c.machines == "update_config" and c.started_machines:
        agents.append("  (the machines are update_config stand-ins of the Rails machines)")
    if c.external_fleet_file is not None:
        agents = [f"  fleet               {c.fleet_file} (FLEET_FILE: machines not started here)"]
    return "\n".join(
        [
            "",
            "Showcase pipeline is up:",
            f"  form (intake)       {c.intake_url}/showcases/new",
            f"  JSON API            {c.intake_url}/api/showcases",
            f"  admin page          {c.intake_url}/admin (admins: roll-outs, pause, Apply)",
            f"  progress gateway    {c.gateway_ws_url}/ws/progress",
            *agents,
            *_nats(c, nats_url),
            f"  S3                  {c.s3_endpoint_url} (bucket {c.s3_bucket})",
            f"  SMTP sink           {HOST}:{c.smtp_port} → {c.maildir}/new/",
            f"  admin alerts        showcasectl alerts run → {ADMIN_EMAIL} (in the SMTP sink)",
            "  metrics             GET /metrics on intake, the gateway and each agent; syncer "
            f"{c.metrics_urls['syncer']}, updater {c.metrics_urls['machine-updater']}",
            f"  data                {c.data_dir.resolve()}",
            "Logins: admin/admin (admin), studio/studio (studio) in the index the local run "
            "seeds; an index that was already there keeps its own users. Ctrl-C stops everything.",
            "",
        ]
    )


def _nats(c: StackConfig, nats_url: str) -> list[str]:
    if not c.clustered:
        return [f"  NATS                {nats_url} (monitoring {c.nats_monitor_urls[0]})"]
    urls = nats_url.split(",")
    lines = [
        f"  NATS cluster        {c.nats_cluster} nodes, streams and KV at "
        f"{c.nats_replicas} replicas"
    ]
    for name, url, node, monitor in zip(
        c.nats_names, urls, c.nats_nodes, c.nats_monitor_urls, strict=True
    ):
        lines.append(f"    {name:<18}{url} (routes :{node.route}, monitoring {monitor})")
    return lines
