"""The county IT dashboard: one server-rendered page (Jinja2, everything escaped)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jinja2

_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>County hub – Enrollment Station</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d2330; }
 h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
 table { border-collapse: collapse; margin-top: .5rem; }
 th, td { border: 1px solid #c9ced8; padding: .3rem .6rem; text-align: left; }
 th { background: #eef1f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
 .incomplete { background: #fff4d6; } .stale { color: #a33; } .empty { color: #667; }
 nav a { margin-right: 1rem; }
</style>
</head>
<body>
<h1>County hub</h1>
<p>Records received: <strong id="total-records">{{ total_records }}</strong>
 · Stations: <strong id="total-stations">{{ summary.stations | length }}</strong>
 · hub {{ version }} · {{ now }}</p>
<nav>Export:
 <a href="export/summary.json">summary (JSON)</a>
 <a href="export/records.json">records (JSON)</a>
 <a href="export/records.csv">records (CSV)</a>
 <a href="export/schools.csv">schools (CSV)</a>
 <a href="export/failures.csv">failures (CSV)</a>
 <a href="export/stations.csv">stations (CSV)</a>
</nav>

<h2>Devices per operator and school</h2>
{% if summary.schools %}
<table id="schools">
<tr><th>Operator</th><th>School</th><th>Devices</th><th>Provisioned</th><th>Labelled</th>
<th>Synced</th></tr>
{% for s in summary.schools %}
<tr data-operator="{{ s.operator }}" data-school="{{ s.school }}">
<td>{{ s.operator }}</td><td>{{ s.school }}</td><td class="num devices">{{ s.devices }}</td>
<td class="num provisioned">{{ s.provisioned }}</td><td class="num labelled">{{ s.labelled }}</td>
<td class="num synced">{{ s.synced }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="empty">No device results yet.</p>{% endif %}

<h2>Cart completeness</h2>
{% if summary.carts %}
<table id="carts">
<tr><th>Operator</th><th>School</th><th>Cart</th><th>Run</th><th>Complete</th></tr>
{% for c in summary.carts %}
<tr data-cart="{{ c.cart }}"
 class="{{ 'incomplete' if c.size and c.provisioned < c.size else '' }}">
<td>{{ c.operator }}</td><td>{{ c.school }}</td><td>{{ c.cart }}</td><td>{{ c.run_id }}</td>
<td class="num completeness">{{ c.provisioned }}/{{ c.size if c.size else '?' }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="empty">No carts yet.</p>{% endif %}

<h2>Failures by step and error</h2>
{% if summary.failures %}
<table id="failures">
<tr><th>Step</th><th>Error</th><th>Failures</th><th>Devices</th></tr>
{% for f in summary.failures %}
<tr><td>{{ f.step }}</td><td>{{ f.error }}</td><td class="num count">{{ f.count }}</td>
<td class="num">{{ f.devices }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="empty">No failures.</p>{% endif %}

<h2>Stations</h2>
{% if summary.stations %}
<table id="stations">
<tr><th>Station</th><th>Last heartbeat</th><th>Version</th><th>Backlog</th>
<th>Oldest pending</th></tr>
{% for st in summary.stations %}
<tr data-station="{{ st.name }}"><td>{{ st.name }}</td>
<td>{{ st.last_heartbeat or 'never' }}</td><td>{{ st.version }}</td>
<td class="num backlog">{{ st.backlog }}</td><td>{{ st.oldest_pending or '' }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="empty">No stations registered.</p>{% endif %}

<h2>Serials seen at two or more schools</h2>
{% if summary.serials_at_several_schools %}
<table id="moved">
<tr><th>Serial</th><th>Schools</th></tr>
{% for m in summary.serials_at_several_schools %}
<tr><td class="serial">{{ m.serial }}</td><td>{{ m.schools | join(', ') }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="empty">None.</p>{% endif %}
</body>
</html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_PAGE = _ENV.from_string(_TEMPLATE)


def render_dashboard(summary: dict[str, Any], *, total_records: int, version: str) -> str:
    """The dashboard page for ``HubDB.summary()``."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return _PAGE.render(summary=summary, total_records=total_records, version=version, now=now)
