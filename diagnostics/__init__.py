"""Connect Check's engine: from a Canvas URL (or a pasted error) to findings.

The flow, one way only::

    user input --target.parse--> Target
        --runner.run_check(target, Options)--> checks (concurrently, one deadline)
            checks/dns.py      dns.resolved, dns.cname, dns.not_found, net.private_address
            checks/tls.py      net.reachable, net.connect_failed, net.timeout,
                               tls.handshake_failed, tls.old_protocol, tls.protocol,
                               tls.trusted and every tls.* failure (analysis is pure:
                               tls_analysis.analyze_chain(pems, host, now, store))
            checks/http.py     canvas.detected, canvas.not_detected, canvas.redirected
            checks/hosting.py  hosting.instructure, hosting.self_hosted,
                               hosting.environment, hosting.lti_platform
            checks/oauth.py    oauth.*  (Developer Key probe, secret verification)
            checks/lti.py      lti.jwks_ok, lti.jwks_unreachable
            checks/badgr.py    badgr.reachable, badgr.unreachable
        --> Report (model.py) --> portal/ renders it, cli.py prints it

    pasted text --explain.explain--> Explanation (same codes, same catalog text)

Every finding takes its words from knowledge/catalog.toml (catalog.finding). All network
access goes through net.Network (vetted addresses, pinned connections, deadline, caps).
This package never imports streamlit.
"""

__version__ = "0.1.0"
