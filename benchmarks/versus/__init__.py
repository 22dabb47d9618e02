"""amiproto beside the other Python AMI libraries: the machinery of ``benchmarks/run.py``.

``suite.benchmark`` runs the tables (``in_memory``, ``over_loopback``) and returns a
``results.Report``; ``suite.write`` saves it as JSON, Markdown tables and a chart.
The other libraries are driven through their own code by ``peer_readers`` (parsers)
and ``peer_clients`` (panoramisk's client); ``rounds`` times runs that take turns.
"""
