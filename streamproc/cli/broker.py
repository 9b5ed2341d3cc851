"""`streamproc broker start|stop|status|jars`: the local Kafka broker or cluster
(streamproc.localkafka)."""

from __future__ import annotations

import argparse
import sys

from streamproc import config
from streamproc import localkafka as broker
from streamproc.config import Settings
from streamproc.localkafka import (
    DEFAULT_START_TIMEOUT,
    DEFAULT_STOP_TIMEOUT,
    MAX_BROKERS,
    BrokerError,
    ensure_jars,
    running_pid,
    start,
    status,
    stop,
    wait_until_ready,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=["start", "stop", "status", "jars"],
        help="start/stop the local broker, show its status, or only fetch jars",
    )
    parser.add_argument(
        "--brokers",
        type=int,
        default=None,
        metavar="N",
        help=f"start: a cluster of N nodes (1-{MAX_BROKERS}; default 1, or the size of the "
        "cluster running in the state dir); stop/status: default whatever runs",
    )
    parser.add_argument(
        "--node",
        type=int,
        default=None,
        metavar="ID",
        help="start/stop only this node of the cluster (fault tests)",
    )
    parser.add_argument(
        "--kill",
        action="store_true",
        help="with stop --node: SIGKILL at once (a crash), no controlled shutdown",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help=f"seconds to wait (start: {DEFAULT_START_TIMEOUT:.0f}, "
        f"stop: {DEFAULT_STOP_TIMEOUT:.0f} before SIGKILL)",
    )


def run(args: argparse.Namespace) -> int:
    settings = config.load()
    brokers = getattr(args, "brokers", None)
    node = getattr(args, "node", None)
    try:
        if brokers is not None and not 1 <= brokers <= MAX_BROKERS:
            raise BrokerError(f"--brokers must be between 1 and {MAX_BROKERS}, not {brokers}")
        if node is not None:
            return _run_node(args, settings, node)
        if getattr(args, "kill", False):
            raise BrokerError("--kill goes with stop --node ID")
        if args.action == "start":
            if brokers is None:
                running = broker.running_cluster(settings)
                brokers = len(running) if running else len(settings.bootstrap_servers)
            if brokers > 1:
                return _start_cluster(args, settings, brokers)
            single = broker.single_node(settings).bootstrap
            if running_pid(settings) is not None and wait_until_ready(single, 2.0):
                print(f"Kafka broker already running at {single} (pid {running_pid(settings)})")
                return 0
            bootstrap = start(settings, timeout=args.timeout or DEFAULT_START_TIMEOUT)
            print(
                f"Kafka broker running at {bootstrap} (pid {running_pid(settings)}, "
                f"data in {broker.single_node(settings).data_dir})"
            )
        elif args.action == "stop":
            _stop(args, settings, brokers)
        elif args.action == "status":
            if brokers is None and running_pid(settings) is None and (
                broker.recorded_cluster(settings) is not None
            ):
                print(broker.cluster_status(settings).describe())
            elif brokers is None or brokers == 1:
                print(status(settings).describe())
            else:
                print(broker.cluster_status(settings, brokers).describe())
        else:
            print(ensure_jars(settings))
    except BrokerError as exc:
        print(f"streamproc broker {args.action}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _stop(args: argparse.Namespace, settings: Settings, brokers: int | None) -> None:
    single = brokers in (None, 1) and running_pid(settings) is not None
    cluster = broker.running_cluster(settings) if brokers != 1 else None
    stop(settings, timeout=args.timeout or DEFAULT_STOP_TIMEOUT, brokers=brokers)
    if single:
        print("Kafka broker stopped")
    if cluster:
        print(f"Kafka cluster stopped ({len(cluster)} nodes)")
    if not single and not cluster:
        print("Kafka broker is not running")


def _start_cluster(args: argparse.Namespace, settings: Settings, brokers: int) -> int:
    running = broker.running_cluster(settings)
    already = running is not None and len(running) == brokers and all(
        broker.node_pid(settings, n.node_id) and wait_until_ready(n.bootstrap, 2.0)
        for n in running
    )
    bootstrap = broker.start_cluster(
        settings, brokers, timeout=args.timeout or DEFAULT_START_TIMEOUT
    )
    after = broker.cluster_status(settings)
    verb = "already running" if already else "running"
    print(f"Kafka cluster of {brokers} nodes {verb} at {bootstrap}")
    for node in after.nodes:
        print(f"  {node.describe()}")
    print(f"  quorum: {after.quorum.describe() if after.quorum else 'unknown'}")
    print(f"Clients: {broker.client_env(bootstrap, brokers)}")
    return 0


def _run_node(args: argparse.Namespace, settings: Settings, node_id: int) -> int:
    if args.action == "start":
        bootstrap = broker.start_node(
            settings, node_id, timeout=args.timeout or DEFAULT_START_TIMEOUT
        )
        print(f"Kafka node {node_id} running at {bootstrap} "
              f"(pid {broker.node_pid(settings, node_id)})")
    elif args.action == "stop":
        how = "killed" if args.kill else "stopped"
        if broker.stop_node(settings, node_id, timeout=args.timeout or DEFAULT_STOP_TIMEOUT,
                            kill=args.kill):
            print(f"Kafka node {node_id} {how}")
        else:
            print(f"Kafka node {node_id} is not running")
    else:
        raise BrokerError(f"--node goes with start or stop, not {args.action}")
    return 0
