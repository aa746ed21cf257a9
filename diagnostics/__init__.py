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
            checks/badgr.py    hosting.preauthorization (hosted: the request fields),
                               badgr.reachable, badgr.unreachable (region API host)
            checks/oauth.py    oauth.key_format, oauth.redirect_uri_advice (redirect_uri.py),
                               oauth.client_ok / unknown_client / redirect_uri_mismatch /
                               unauthorized_client / invalid_scope / probe_inconclusive,
                               oauth.secret_ok / secret_invalid / secret_not_checked
            checks/lti.py      lti.jwks_ok, lti.jwks_unreachable, lti.issuer
            (runner itself)    input.* notes, net.port_not_allowed, net.timeout at the
                               deadline, internal.check_error for our own bugs
        --> Report (model.py) --> portal/ renders it, cli.py prints it

    pasted text --explain.explain--> Explanation (same codes, same catalog text;
                                     redact.redact hides tokens, secrets and hints)
    request form --request.validate--> email / mailto / .eml / .json for Badgr support
                                     (keys.py checks Developer Key formats)
    many URLs --batch.run_batch--> rows;  share.py links, store.py saved snapshots

Every finding takes its words from knowledge/catalog.toml (catalog.finding). All network
access goes through net.Network (vetted addresses, pinned connections, deadline, caps).
This package never imports streamlit.
"""

__version__ = "0.1.0"
