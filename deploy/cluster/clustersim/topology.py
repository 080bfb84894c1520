"""The address plan of the simulated cluster and the `ip`/`tc` commands that build and remove it.

Every host is a network namespace with one veth link to a bridge in the root namespace; the
bridge itself holds the first address, so the driver (in the root namespace) reaches every host
the way a client on the same network would. Planning is pure (tested); `apply` runs the commands.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

INNER_DEV = "eth0"
# Host number on the /24: .1 is the bridge (the driver), fixed hosts next, workers from .11 on.
FIXED_HOSTS = (("data", 2), ("llm", 3), ("api", 4))
FIRST_WORKER_OCTET = 11


@dataclass(frozen=True)
class Host:
    """One simulated machine: its namespace, address, and the bridge port of its link."""

    name: str  # "data", "llm", "api", "w1", ...
    namespace: str
    address: str
    outer_dev: str  # the veth end on the bridge, in the root namespace

    @property
    def is_worker(self) -> bool:
        return self.name.startswith("w")


@dataclass(frozen=True)
class Topology:
    prefix: str
    subnet: str  # first three octets
    hosts: tuple[Host, ...]

    @property
    def bridge(self) -> str:
        return f"{self.prefix}-br"

    @property
    def gateway(self) -> str:
        return f"{self.subnet}.1"

    @property
    def network(self) -> str:
        return f"{self.subnet}.0/24"

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    @property
    def workers(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.is_worker)


def plan_topology(prefix: str, subnet: str, worker_hosts: int) -> Topology:
    """Names and addresses for the data, LLM and API hosts and `worker_hosts` worker hosts."""
    named = [
        *FIXED_HOSTS,
        *((f"w{i}", FIRST_WORKER_OCTET + i - 1) for i in range(1, 1 + worker_hosts)),
    ]
    hosts = tuple(
        Host(
            name=name,
            namespace=f"{prefix}-{name}",
            address=f"{subnet}.{octet}",
            outer_dev=f"{prefix}-{name}",
        )
        for name, octet in named
    )
    for host in hosts:
        if len(host.outer_dev) > 15:  # the kernel's limit on interface names
            raise ValueError(f"interface name {host.outer_dev!r} is longer than 15 characters")
    return Topology(prefix=prefix, subnet=subnet, hosts=hosts)


def build_commands(topology: Topology) -> list[list[str]]:
    """The bridge with the driver's address, then per host: namespace, veth pair, addresses."""
    commands = [
        ["ip", "link", "add", topology.bridge, "type", "bridge"],
        ["ip", "addr", "add", f"{topology.gateway}/24", "dev", topology.bridge],
        ["ip", "link", "set", topology.bridge, "up"],
    ]
    for host in topology.hosts:
        temporary = f"{host.outer_dev}-i"[-15:]
        ns = host.namespace
        commands += [
            ["ip", "netns", "add", ns],
            ["ip", "link", "add", host.outer_dev, "type", "veth", "peer", "name", temporary],
            ["ip", "link", "set", temporary, "netns", ns],
            ["ip", "-n", ns, "link", "set", temporary, "name", INNER_DEV],
            ["ip", "-n", ns, "addr", "add", f"{host.address}/24", "dev", INNER_DEV],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "-n", ns, "link", "set", INNER_DEV, "up"],
            ["ip", "link", "set", host.outer_dev, "master", topology.bridge],
            ["ip", "link", "set", host.outer_dev, "up"],
        ]
    return commands


def delay_commands(topology: Topology, delay_ms: float) -> list[list[str]]:
    """netem on each host's egress: a packet between two hosts waits `delay_ms` once, at its
    sender, so a round trip between hosts costs twice that."""
    if delay_ms <= 0:
        return []
    return [
        ["ip", "netns", "exec", h.namespace, "tc", "qdisc", "add", "dev", INNER_DEV, "root",
         "netem", "delay", f"{delay_ms:g}ms"]
        for h in topology.hosts
    ]  # fmt: skip


def teardown_commands(topology: Topology) -> list[list[str]]:
    """Deleting a namespace deletes its veth end and so the pair; the bridge goes last."""
    return [["ip", "netns", "delete", h.namespace] for h in topology.hosts] + [
        ["ip", "link", "delete", topology.bridge]
    ]


def link_command(host: Host, *, up: bool) -> list[str]:
    """Cut a host off (its bridge port down: packets vanish, as in a partition) or reconnect it."""
    return ["ip", "link", "set", host.outer_dev, "up" if up else "down"]


def apply(commands: list[list[str]]) -> None:
    """Run each command; the first failure raises with its output."""
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip() or done.stdout.strip()}")


def apply_delay(topology: Topology, delay_ms: float) -> str | None:
    """Add the link delay; None when done, else why not (a kernel without sch_netem). On
    failure no link keeps a delay: the hosts are alike, with or without it."""
    try:
        apply(delay_commands(topology, delay_ms))
    except RuntimeError as exc:
        for host in topology.hosts:
            remove = ["ip", "netns", "exec", host.namespace, "tc", "qdisc", "del", "dev", INNER_DEV,
                      "root"]  # fmt: skip
            subprocess.run(remove, capture_output=True, check=False)
        return f"no link delay: {exc}"
    return None


def teardown(topology: Topology) -> list[str]:
    """Remove what `build_commands` made, as far as it exists; returns what could not go."""
    problems = []
    for command in teardown_commands(topology):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if (
            done.returncode != 0
            and "No such" not in done.stderr
            and "Cannot find" not in done.stderr
        ):
            problems.append(f"{' '.join(command)}: {done.stderr.strip()}")
    return problems
