"""`bff-demo`: the whole demo stack, development tokens, or the services alone.

    bff-demo                          # the services, then the BFF on :8000 (GraphiQL, /readyz)
    bff-demo --workers 2
    bff-demo token --sub u2 --scope "orders:write"
    bff-demo services catalog --port 8102 --latency-ms 5     # as `python -m demo`

The BFF runs as `bff serve` in a child process, told where the services are
and which token GraphiQL's signed-in examples send, through its `BFF_*`
settings: the demo never reaches into the product, nor it into the demo.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from types import FrameType

from demo import cli
from demo.identity import IdentityProvider
from demo.services import DEFAULT_PORTS, IDENTITY, SERVICE_NAMES

READY_LINE = "demo services ready"
GRAPHIQL_USER = "u1"
"""Who GraphiQL's signed-in examples act as."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["services"]:
        return cli.main(args[1:])
    if args[:1] == ["token"]:
        return _print_token(args[1:])
    parser = argparse.ArgumentParser(
        prog="bff-demo",
        description="Run the demo services and the BFF together (`bff-demo token`, "
        "`bff-demo services`: see the module's help).",
    )
    parser.add_argument("--host", help="interface the BFF listens on (BFF_HOST)")
    parser.add_argument("--port", type=int, help="port the BFF listens on (BFF_PORT)")
    parser.add_argument("--workers", type=int, help="BFF worker processes (BFF_WORKERS; 1)")
    options = parser.parse_args(args)
    return run_stack(bff_environment(os.environ, options.host, options.port, options.workers))


def bff_environment(
    environ: Mapping[str, str],
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
) -> dict[str, str]:
    """The BFF's environment in the stack: `environ`, with the demo's defaults under it.

    The BFF reaches the services and the JWKS where the demo serves them, and
    GraphiQL's signed-in examples carry a month-long token. It runs one worker
    unless BFF_WORKERS (or `--workers`) asks for more: someone trying the BFF
    out then sees one set of caches, persisted queries and counters.
    """
    defaults = {
        **{
            f"BFF_{name.upper()}_URL": f"http://127.0.0.1:{DEFAULT_PORTS[name]}"
            for name in SERVICE_NAMES
        },
        "BFF_AUTH_JWKS_URL": f"http://127.0.0.1:{DEFAULT_PORTS[IDENTITY]}/.well-known/jwks.json",
        "BFF_GRAPHIQL_TOKEN": development_token(),
        "BFF_WORKERS": "1",
    }
    given = {
        name: str(value)
        for name, value in (("BFF_HOST", host), ("BFF_PORT", port), ("BFF_WORKERS", workers))
        if value is not None
    }
    return {**defaults, **environ, **given}


def development_token(user_id: str = GRAPHIQL_USER) -> str:
    """A month-long token for `user_id`, signed with the demo's development keys."""
    return IdentityProvider().sign(user_id, scope="orders:write", ttl_s=30 * 24 * 3600)


def run_stack(env: Mapping[str, str]) -> int:
    """Start every demo service in one child process, then `bff serve` in another."""
    # SIGTERM becomes SystemExit, so the `finally` below stops both children.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    services = subprocess.Popen(
        [sys.executable, "-m", "demo", "all"], stdout=subprocess.PIPE, text=True
    )
    bff: subprocess.Popen[bytes] | None = None
    try:
        assert services.stdout is not None
        for line in services.stdout:
            print(line, end="", flush=True)
            if line.strip() == READY_LINE:
                break
        else:
            print("bff-demo: the demo services did not start", file=sys.stderr)
            return 1
        # Keep relaying the services' output so their pipe never fills up and blocks them.
        threading.Thread(target=_relay, args=(services.stdout,), daemon=True).start()
        host = env.get("BFF_HOST", "127.0.0.1")
        port = env.get("BFF_PORT", "8000")
        print(
            f"GraphiQL: http://{host}:{port}/graphql  (readiness: http://{host}:{port}/readyz)",
            flush=True,
        )
        bff = subprocess.Popen([sys.executable, "-m", "bff", "serve"], env=dict(env))
        return bff.wait()
    finally:
        for child in (bff, services):
            if child is not None:
                _stop(child)


def _print_token(argv: Sequence[str]) -> int:
    """A token the demo identity provider's keys sign; any BFF in the demo profile accepts it."""
    parser = argparse.ArgumentParser(
        prog="bff-demo token", description="Print a demo-signed bearer token (development)."
    )
    parser.add_argument("--sub", required=True, help="the user the token is for, e.g. u1")
    parser.add_argument("--scope", default="", help='space-separated scopes, e.g. "orders:write"')
    parser.add_argument("--roles", default="", help='comma-separated roles, e.g. "admin"')
    parser.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid")
    parser.add_argument("--alg", choices=("RS256", "ES256"), default="RS256")
    options = parser.parse_args(argv)
    provider = IdentityProvider()
    kid = next(key.kid for key in provider.keys if key.alg == options.alg)
    roles = [role.strip() for role in options.roles.split(",") if role.strip()]
    print(provider.sign(options.sub, scope=options.scope, roles=roles, ttl_s=options.ttl, kid=kid))
    return 0


def _stop(child: "subprocess.Popen[str] | subprocess.Popen[bytes]") -> None:
    if child.poll() is None:
        child.terminate()
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _relay(lines: Iterable[str]) -> None:
    for line in lines:
        print(line, end="", flush=True)


if __name__ == "__main__":
    sys.exit(main())
