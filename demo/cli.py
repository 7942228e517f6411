"""`python -m demo` (also `bff-demo services`): run demo services on loopback ports.

    python -m demo                      # all of them, on 8101..8107
    python -m demo catalog --port 8102 --latency-ms 5
    python -m demo all --base-port 9100 --error-rate 0.01

Faults come from the environment (`DEMO_LATENCY_MS`, `DEMO_CATALOG_ERROR_RATE`, ...),
then from the flags, which apply to every service started and win over the environment.
"""

import argparse
import asyncio
import os
from collections.abc import Mapping, Sequence

import uvloop

from demo.faults import SETTINGS, Faults
from demo.runner import Tls, serve
from demo.services import ALL_NAMES, DEFAULT_PORTS, build_services
from demo.tracing import providers_from_environ


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    names = _names(parser, args.services)
    ports = _ports(parser, names, args.port, args.base_port)
    flags = {name: getattr(args, name) for name in SETTINGS if getattr(args, name) is not None}
    try:
        faults = {name: _faults(name, os.environ, flags) for name in names}
        services = build_services(
            names,
            seed=args.seed,
            faults=faults,
            order_step_seconds=args.order_step_seconds,
            tracer_providers=providers_from_environ(names, os.environ),
        )
    except ValueError as error:
        parser.error(str(error))

    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    tls = Tls(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
    scheme = "https" if tls else "http"

    def announce() -> None:
        for name in names:
            print(f"{name} listening on {scheme}://{args.host}:{ports[name]}")
        print("demo services ready", flush=True)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(services, args.host, ports, on_ready=announce, tls=tls))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Run the demo downstream REST services.",
    )
    parser.add_argument(
        "services",
        nargs="*",
        metavar="SERVICE",
        help=f"'all' (the default) or some of: {', '.join(ALL_NAMES)}",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="the port, when running exactly one service")
    parser.add_argument(
        "--base-port",
        type=int,
        help="service k listens on BASE_PORT + k (default: each on its own port, 8101..8107)",
    )
    parser.add_argument("--latency-ms", type=float, help="added to every answer")
    parser.add_argument("--jitter-ms", type=float, help="plus a uniform 0..JITTER_MS")
    parser.add_argument("--error-rate", type=float, help="share of requests answered 503")
    parser.add_argument("--hang-rate", type=float, help="share of requests that hang")
    parser.add_argument("--hang-seconds", type=float, help="how long a hang lasts (300)")
    parser.add_argument(
        "--retry-after-s", type=float, help="Retry-After sent with injected 503s (0: none)"
    )
    parser.add_argument("--seed", type=int, default=42, help="the demo data's seed")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="... and this private key (PEM)")
    parser.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    parser.add_argument(
        "--order-step-seconds",
        type=float,
        default=10.0,
        help="how long a placed order takes per status step",
    )
    return parser


def _names(parser: argparse.ArgumentParser, given: Sequence[str]) -> list[str]:
    if not given or "all" in given:
        return list(ALL_NAMES)
    unknown = [name for name in given if name not in ALL_NAMES]
    if unknown:
        parser.error(f"unknown service {unknown[0]!r}; choose from all, {', '.join(ALL_NAMES)}")
    # Contract order, so output and ports read the same however they were named.
    return [name for name in ALL_NAMES if name in given]


def _ports(
    parser: argparse.ArgumentParser, names: Sequence[str], port: int | None, base: int | None
) -> dict[str, int]:
    if port is not None:
        if len(names) != 1:
            parser.error("--port needs exactly one service; use --base-port for several")
        if base is not None:
            parser.error("--port and --base-port exclude each other")
        return {names[0]: port}
    if base is None:
        return {name: DEFAULT_PORTS[name] for name in names}
    return {name: base + ALL_NAMES.index(name) + 1 for name in names}


def _faults(service: str, environ: Mapping[str, str], flags: Mapping[str, float]) -> Faults:
    faults = Faults.from_environ(service, environ)
    faults.update(flags)
    return faults
