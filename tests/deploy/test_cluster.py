"""The cluster simulation's pure parts (deploy/cluster/clustersim): its arguments, the address
plan and the commands built from it, the break schedule, the figures computed from database rows,
the verdict, and the settings it hands the services.

A full run needs root, network namespaces and minutes (deploy/cluster/simulate.sh); these tests
need none of that. They fail when a rule the run's verdict depends on breaks: an item lost but not
counted, a second final label missed, a break that no longer outlasts a lease.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from labelwise.settings import Settings

CLUSTER_DIR = Path(__file__).resolve().parents[2] / "deploy" / "cluster"
SCRIPT = CLUSTER_DIR / "simulate.sh"
sys.path.insert(0, str(CLUSTER_DIR))

from clustersim import (  # noqa: E402
    chaos,
    corpus,
    cpu,
    figures,
    options,
    processes,
    report,
    services,
    workers,
)
from clustersim import topology as topo  # noqa: E402

REQUIRED = ["--python", "/venv/bin/python", "--run-dir", "/tmp/r", "--log-dir", "/tmp/l"]


# --- arguments ------------------------------------------------------------------------------------


def test_defaults_are_the_documented_run() -> None:
    parsed = options.parse_options(REQUIRED)
    assert (parsed.items, parsed.worker_hosts, parsed.workers_per_host) == (3000, 3, 2)
    assert parsed.llm_latency_ms == 500 and parsed.lease_seconds == 8
    assert parsed.prefix == "lw" and parsed.subnet == "10.77.0"


def test_sizes_are_read() -> None:
    parsed = options.parse_options([*REQUIRED, "--items", "400", "--worker-hosts", "2"])
    assert (parsed.items, parsed.worker_hosts) == (400, 2)


@pytest.mark.parametrize(
    "extra",
    [
        ["--worker-hosts", "0"],
        ["--worker-hosts", "17"],
        ["--items", "5"],
        ["--items", "many"],
        ["--prefix", "Lw"],
        ["--prefix", "toolongname"],
        ["--subnet", "192.168.1"],
        ["--subnet", "10.300.0"],
        ["--lease-seconds", "1"],
        ["--llm-latency-ms", "-1"],
    ],
)
def test_bad_arguments_are_refused(extra: list[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        options.parse_options([*REQUIRED, *extra])
    assert refused.value.code == 2


def test_the_python_and_directories_are_required() -> None:
    with pytest.raises(SystemExit):
        options.parse_options(["--items", "400"])


# --- topology -------------------------------------------------------------------------------------


def test_the_plan_gives_every_host_its_own_address_and_names() -> None:
    plan = topo.plan_topology("lw", "10.77.0", 3)
    names = [h.name for h in plan.hosts]
    assert names == ["data", "llm", "api", "w1", "w2", "w3"]
    addresses = [h.address for h in plan.hosts]
    assert len(set(addresses)) == len(addresses)
    assert plan.gateway == "10.77.0.1" and plan.gateway not in addresses
    assert all(a.startswith("10.77.0.") for a in addresses)
    assert [h.name for h in plan.workers] == ["w1", "w2", "w3"]
    assert {h.namespace for h in plan.hosts} == {f"lw-{n}" for n in names}
    assert all(len(h.outer_dev) <= 15 for h in plan.hosts)


def test_sixteen_worker_hosts_fit_the_plan() -> None:
    plan = topo.plan_topology("abcdef", "10.1.2", options.MAX_WORKER_HOSTS)
    assert len(plan.workers) == options.MAX_WORKER_HOSTS
    assert len({h.address for h in plan.hosts}) == len(plan.hosts)


def test_an_interface_name_too_long_for_the_kernel_is_refused() -> None:
    with pytest.raises(ValueError, match="15"):
        topo.plan_topology("abcdefghijkl", "10.77.0", 1)


def test_build_commands_wire_each_host_to_the_bridge() -> None:
    plan = topo.plan_topology("lw", "10.77.0", 2)
    commands = topo.build_commands(plan)
    assert commands[0] == ["ip", "link", "add", "lw-br", "type", "bridge"]
    assert ["ip", "addr", "add", "10.77.0.1/24", "dev", "lw-br"] in commands
    for host in plan.hosts:
        assert ["ip", "netns", "add", host.namespace] in commands
        assert ["ip", "link", "set", host.outer_dev, "master", "lw-br"] in commands
        address = ["ip", "-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0"]
        assert address in commands
        # The namespace exists before anything is put into it.
        assert commands.index(["ip", "netns", "add", host.namespace]) < commands.index(address)


def test_delay_goes_on_every_host_link_and_not_at_all_when_zero() -> None:
    plan = topo.plan_topology("lw", "10.77.0", 2)
    commands = topo.delay_commands(plan, 2.5)
    assert len(commands) == len(plan.hosts)
    assert all(c[-3:] == ["netem", "delay", "2.5ms"] for c in commands)
    assert topo.delay_commands(plan, 0) == []


def test_teardown_removes_every_namespace_then_the_bridge() -> None:
    plan = topo.plan_topology("lw", "10.77.0", 2)
    commands = topo.teardown_commands(plan)
    assert commands[-1] == ["ip", "link", "delete", "lw-br"]
    assert {c[-1] for c in commands[:-1]} == {h.namespace for h in plan.hosts}


def test_a_cut_takes_the_bridge_port_down_and_a_reconnect_brings_it_up() -> None:
    host = topo.plan_topology("lw", "10.77.0", 2).host("w2")
    assert topo.link_command(host, up=False) == ["ip", "link", "set", "lw-w2", "down"]
    assert topo.link_command(host, up=True) == ["ip", "link", "set", "lw-w2", "up"]


# --- the break schedule ---------------------------------------------------------------------------


def _by_action(steps: list[chaos.Step]) -> dict[str, chaos.Step]:
    return {s.action: s for s in steps}


@pytest.mark.parametrize("lease", [3.0, 8.0, 30.0])
def test_each_break_outlasts_a_lease_and_is_undone(lease: float) -> None:
    steps = chaos.plan_breaks(["w1", "w2", "w3"], lease)
    assert [s.at_s for s in steps] == sorted(s.at_s for s in steps)
    at = _by_action(steps)
    assert at["reconnect"].at_s - at["cut"].at_s > lease
    assert at["power_on"].at_s - at["power_off"].at_s > lease
    assert at["restart_redis"].at_s > at["crash_redis"].at_s
    # Each break starts once the one before is undone, and the restarted workers are back.
    assert at["crash_redis"].at_s >= at["power_on"].at_s + lease
    assert at["cut"].at_s >= at["restart_redis"].at_s + lease


def test_with_several_hosts_the_cut_and_the_power_cut_hit_different_hosts() -> None:
    at = _by_action(chaos.plan_breaks(["w1", "w2"], 8))
    assert at["cut"].host == at["reconnect"].host == "w1"
    assert at["power_off"].host == at["power_on"].host == "w2"
    assert at["crash_redis"].host is None


def test_with_one_host_both_breaks_hit_it() -> None:
    at = _by_action(chaos.plan_breaks(["w1"], 8))
    assert at["cut"].host == at["power_off"].host == "w1"


def test_no_worker_host_no_chaos() -> None:
    with pytest.raises(ValueError):
        chaos.plan_breaks([], 8)


def test_the_chaos_batch_runs_dry_after_the_cut_and_before_its_leases_end() -> None:
    steps = chaos.plan_breaks(["w1", "w2"], 8)
    cut = _by_action(steps)["cut"].at_s
    items = chaos.chaos_items(50.0, steps, 8, hosts=2)
    # Fewer than two hosts would label by the cut's lease expiry without a break...
    assert items < 50.0 * (cut + 8)
    # ...but more than they can label in the time left to them before the cut.
    assert items > 50.0 * (cut - 2 * chaos.WORKER_BACK_S - 8 - chaos.REDIS_DOWN_S)
    assert chaos.chaos_items(100.0, steps, 8, hosts=2) == pytest.approx(2 * items, abs=1)


def test_a_power_cut_costs_less_when_there_are_more_hosts() -> None:
    steps = chaos.plan_breaks(["w1", "w2", "w3"], 8)
    assert chaos.chaos_items(50.0, steps, 8, hosts=3) > chaos.chaos_items(50.0, steps, 8, hosts=2)


def test_the_chaos_batch_has_a_floor() -> None:
    steps = chaos.plan_breaks(["w1"], 8)
    assert chaos.chaos_items(0.0, steps, 8, hosts=1) == chaos.MIN_CHAOS_ITEMS


class FakeCluster:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def cut(self, host: str) -> None:
        self.calls.append(("cut", host))

    def reconnect(self, host: str) -> None:
        self.calls.append(("reconnect", host))

    def crash_redis(self) -> None:
        self.calls.append(("crash_redis", None))

    def restart_redis(self) -> None:
        self.calls.append(("restart_redis", None))

    def power_off(self, host: str) -> int:
        self.calls.append(("power_off", host))
        return 7

    def power_on(self, host: str) -> None:
        self.calls.append(("power_on", host))


def test_the_breaker_does_due_steps_in_order_and_stamps_them() -> None:
    cluster = FakeCluster()
    steps = chaos.plan_breaks(["w1", "w2"], 8)
    breaker = chaos.Breaker(steps, cluster)
    breaker.run_due(steps[1].at_s, lambda: 12.3, pending=40)
    assert cluster.calls == [("power_off", "w2"), ("power_on", "w2")]
    assert not breaker.finished
    breaker.run_due(1e9, lambda: 99.0)
    assert [c[0] for c in cluster.calls] == [s.action for s in steps]
    assert breaker.finished
    assert breaker.done[0] == {
        "at_s": 12.3,
        "what": f"{steps[0].what}: 7 processes",
        "pending": 40,
    }
    assert breaker.done[1] == {"at_s": 12.3, "what": steps[1].what, "pending": 40}
    assert breaker.done[-1] == {"at_s": 99.0, "what": steps[-1].what}


def test_run_chaos_settles_when_nothing_is_pending() -> None:
    ticks: list[int] = []
    settled, _ = chaos.run_chaos(
        chaos.Breaker([], FakeCluster()),
        pending=lambda: 0,
        tick=lambda: ticks.append(1),
        timeout=5,
    )
    assert settled and ticks


def test_run_chaos_gives_up_at_the_timeout() -> None:
    settled, seconds = chaos.run_chaos(
        chaos.Breaker([], FakeCluster()), pending=lambda: 3, tick=lambda: None, timeout=0.3
    )
    assert not settled and seconds >= 0.3


def test_run_chaos_waits_the_quiet_time_and_starts_it_again_when_work_reappears() -> None:
    answers = iter([0, 5])  # nothing pending, then five items pending again, then none

    def pending() -> int:
        return next(answers, 0)

    started = time.monotonic()
    settled, settled_at = chaos.run_chaos(
        chaos.Breaker([], FakeCluster()), pending=pending, tick=lambda: None, timeout=5, quiet_s=1
    )
    assert settled
    assert time.monotonic() - started >= 1.5  # the quiet time, counted again from the second 0
    assert settled_at >= 0.5


def test_run_chaos_is_not_settled_while_steps_remain() -> None:
    late = [chaos.Step(60, "crash_redis", None, "later")]
    settled, _ = chaos.run_chaos(
        chaos.Breaker(late, FakeCluster()), pending=lambda: 0, tick=lambda: None, timeout=0.3
    )
    assert not settled


# --- figures from database rows -------------------------------------------------------------------


def item(
    id_: int, status: str = "accepted", source: str | None = "model", deliveries: int = 1
) -> figures.ItemRow:
    return figures.ItemRow(id_, status, source, source is not None, deliveries)


def prediction(item_id: int, at: float, version: int = 1) -> figures.PredictionRow:
    return figures.PredictionRow(item_id, version, at)


def test_a_clean_phase() -> None:
    rows = figures.PhaseRows(
        posted=3,
        started_at=100.0,
        items=[item(1), item(2), item(3, "review", None)],
        predictions=[prediction(1, 101.0), prediction(2, 102.0), prediction(3, 106.0)],
    )
    got = figures.judge_phase(rows)
    assert (got.lost, got.multi_final_label, got.redeliveries) == (0, 0, 0)
    assert got.seconds == 6.0
    assert got.items_per_second == pytest.approx(0.5)
    assert got.statuses == {"accepted": 2, "review": 1}


def test_missing_and_unsettled_items_are_lost() -> None:
    items = [item(1), item(2, "pending", None)]
    assert figures.lost_items(posted=4, items=items) == 3  # two missing, one pending
    assert figures.lost_items(posted=2, items=[item(1), item(2, "reviewed", "human")]) == 0
    assert figures.lost_items(posted=1, items=[item(1, "failed", None)]) == 0


def test_two_predictions_of_one_version_are_two_final_labels() -> None:
    items = [item(1), item(2)]
    preds = [prediction(1, 1), prediction(1, 2), prediction(2, 1), prediction(2, 2, version=2)]
    assert figures.multi_final_labels(items, preds) == 1


@pytest.mark.parametrize(
    "row",
    [
        figures.ItemRow(1, "accepted", None, False, 1),  # final without a label
        figures.ItemRow(1, "accepted", None, True, 1),  # a label without its source
        figures.ItemRow(1, "review", "model", True, 1),  # a label on an item waiting for review
        figures.ItemRow(1, "pending", None, True, 1),  # a label on an item still pending
    ],
)
def test_a_label_that_disagrees_with_the_status_counts(row: figures.ItemRow) -> None:
    assert figures.multi_final_labels([row], []) == 1


def test_an_item_with_both_faults_counts_once() -> None:
    rows = [figures.ItemRow(1, "review", "model", True, 1)]
    assert figures.multi_final_labels(rows, [prediction(1, 1), prediction(1, 2)]) == 1


def test_redeliveries_are_deliveries_beyond_the_first() -> None:
    items = [item(1, deliveries=1), item(2, deliveries=3), item(3, deliveries=0)]
    assert figures.redeliveries(items) == 2


def test_throughput_and_scaling() -> None:
    assert figures.throughput(100, 10.0, 20.0) == 10.0
    assert figures.throughput(100, 10.0, 10.0) == 0.0
    assert figures.throughput(0, 10.0, 20.0) == 0.0
    assert figures.scaling(20.0, 59.0) == 2.95
    assert figures.scaling(0.0, 59.0) is None


def test_a_phase_with_no_predictions_takes_no_time() -> None:
    rows = figures.PhaseRows(posted=2, started_at=5.0, items=[], predictions=[])
    got = figures.judge_phase(rows)
    assert (got.items_per_second, got.lost) == (0.0, 2)


# --- the verdict ----------------------------------------------------------------------------------


def phase(ips: float, lost: int = 0, multi: int = 0, redelivered: int = 0) -> figures.PhaseFigures:
    return figures.PhaseFigures(100, 100 / ips, ips, lost, multi, redelivered, {"accepted": 100})


def verdict(phases: dict[str, figures.PhaseFigures], **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "worker_hosts": 3,
        "settings": {"llm_latency_ms": 500.0},
        "phases": phases,
        "settled": dict.fromkeys(phases, True),
        "broke": [{"at_s": 2.0, "what": "cut w1 off the network for 14 s"}],
        "worker_exits": [],
        "notes": [],
        "wall_s": 10.0,
    }
    return report.build_report(**(arguments | overrides))


def test_a_good_run() -> None:
    got = verdict({"1": phase(20), "3": phase(59), "chaos": phase(30, redelivered=40)})
    assert got["ok"] is True
    assert got["items_per_second"] == {"1": 20.0, "3": 59.0}
    assert got["scaling"] == 2.95
    assert (got["items"], got["lost"], got["redeliveries"]) == (300, 0, 40)
    assert got["broke"][0]["at_s"] == 2.0
    assert got["llm_latency_ms"] == 500.0


@pytest.mark.parametrize("fault", [{"lost": 1}, {"multi": 1}])
def test_a_lost_item_or_a_second_label_fails_the_run(fault: dict[str, int]) -> None:
    got = verdict({"1": phase(20), "3": phase(59), "chaos": phase(30, **fault)})
    assert got["ok"] is False


def test_an_unsettled_phase_fails_the_run() -> None:
    phases = {"1": phase(20), "3": phase(59), "chaos": phase(30)}
    got = verdict(phases, settled={"1": True, "3": True, "chaos": False})
    assert got["ok"] is False


def test_one_host_has_no_scaling() -> None:
    got = verdict({"1": phase(20), "chaos": phase(15)}, worker_hosts=1)
    assert got["scaling"] is None and got["items_per_second"] == {"1": 20.0}


# --- CPU ---------------------------------------------------------------------------------------


def test_process_ticks_are_read_past_a_command_name_with_spaces() -> None:
    stat = "4242 (python (w1) x) S 1 2 3 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 9 0 1000 1 2"
    assert cpu.parse_process_ticks(stat) == 300


def test_machine_ticks_count_idle_and_iowait_as_idle() -> None:
    busy, total = cpu.parse_machine_ticks("cpu  600 0 100 250 50 0 0 0 0 0\ncpu0 1 2 3 4\n")
    assert (busy, total) == (700, 1000)


def test_usage_per_item_and_machine_share() -> None:
    ticks = cpu.TICKS_PER_SECOND
    before = cpu.CpuSample({1: 0, 2: 0}, (0, 0))
    after = cpu.CpuSample({1: ticks, 2: ticks}, (300, 400))
    used = cpu.usage(before, after, items=100)
    assert used == {"worker_cpu_ms_per_item": 20.0, "machine_cpu_busy": 0.75}


def test_no_cpu_per_item_when_the_workers_changed() -> None:
    ticks = cpu.TICKS_PER_SECOND
    before = cpu.CpuSample({1: 0, 2: 0}, (0, 0))
    after = cpu.CpuSample({1: ticks, 3: ticks}, (300, 400))  # 2 died, 3 replaced it
    assert cpu.usage(before, after, items=100)["worker_cpu_ms_per_item"] is None


# --- items and settings ---------------------------------------------------------------------------


def test_tickets_are_of_realistic_size_unique_and_repeatable() -> None:
    texts = [corpus.ticket("p1", i) for i in range(200)]
    assert all(300 <= len(t) <= 2000 for t in texts)
    assert len(set(texts)) == len(texts)
    assert corpus.ticket("p1", 7) == texts[7]
    assert corpus.ticket("p2", 7) != texts[7]


def test_phases_never_share_an_external_id() -> None:
    one = {i["external_id"] for i in corpus.phase_items("p1", 50)}
    chaos_ids = {i["external_id"] for i in corpus.phase_items("pchaos", 50)}
    assert len(one) == 50 and not one & chaos_ids


def test_the_project_labels_every_item_afresh() -> None:
    definition = corpus.project_definition("x")
    assert definition["result_cache"] == "off"
    assert definition["task"]["labels"] == corpus.LABELS


def test_the_services_settings_are_settings_labelwise_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = options.parse_options([*REQUIRED, "--concurrency", "12", "--lease-seconds", "9"])
    where = services.endpoints(topo.plan_topology("lw", "10.77.0", 2))
    env = services.labelwise_environment(parsed, where)
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"LABELWISE_{name.upper()}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.llm_concurrency == 12
    assert settings.work_lease_seconds == 9
    assert settings.chunk_size == 48
    assert settings.reconcile_interval_seconds == 2
    assert settings.redis_url == "redis://10.77.0.2:6379/0"
    assert settings.database_url.startswith("postgresql+psycopg://postgres@10.77.0.2:5432/")
    assert settings.openai_base_url == "http://10.77.0.3:8089/v1"


class RecordingProcesses:
    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, str]]] = []

    def start(
        self, name: str, host: topo.Host, argv: list[str], *, env: dict[str, str]
    ) -> SimpleNamespace:
        self.started.append((name, env))
        return SimpleNamespace(name=name)


def test_workers_of_one_host_serve_metrics_on_ports_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recording = RecordingProcesses()
    parsed = options.parse_options([*REQUIRED, "--workers-per-host", "3"])
    hosts = workers.WorkerHosts(parsed, recording, "redis://10.77.0.2:6379/0")  # type: ignore[arg-type]
    hosts.start(topo.plan_topology("lw", "10.77.0", 2).workers, wait=False)
    assert [name for name, _ in recording.started][:3] == ["w1-1-g1", "w1-2-g1", "w1-3-g1"]
    ports = [env["LABELWISE_WORKER_METRICS_PORT"] for _, env in recording.started]
    assert len(set(ports[:3])) == 3 and ports[:3] == ports[3:]
    monkeypatch.setenv("LABELWISE_WORKER_METRICS_PORT", ports[1])
    assert Settings(_env_file=None).worker_metrics_port == int(ports[1])  # type: ignore[call-arg]


def test_the_caller_environment_does_not_reach_the_services() -> None:
    cleaned = processes.clean_environment(
        {"PATH": "/bin", "LABELWISE_REDIS_URL": "redis://x", "OPENAI_API_KEY": "k"}
    )
    assert cleaned == {"PATH": "/bin"}


def test_a_user_switch_keeps_the_program_pid() -> None:
    host = topo.plan_topology("lw", "10.77.0", 1).host("data")
    argv = processes.in_namespace(host, ["postgres", "-D", "x"], user="postgres")
    assert argv[:4] == ["ip", "netns", "exec", "lw-data"]
    assert argv[4] == "setpriv" and argv[-3:] == ["postgres", "-D", "x"]


def test_the_script_parses() -> None:
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _script(argv: list[str], path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path if path is not None else os.environ["PATH"]}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30, check=False)


def test_the_script_refuses_to_run_unless_root() -> None:
    as_nobody = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]
    argv = [*(as_nobody if os.geteuid() == 0 else []), "bash", str(SCRIPT), "--items", "400"]
    done = _script(argv)
    assert done.returncode == 2
    assert "must run as root" in done.stderr


def test_the_script_refuses_without_ip(tmp_path: Path) -> None:
    """Only what the script needs before its checks is on the PATH: not `ip`, not `tc`."""
    for tool in ("id", "dirname"):
        found = shutil.which(tool)
        assert found is not None
        (tmp_path / tool).symlink_to(found)
    done = _script([shutil.which("bash") or "/bin/bash", str(SCRIPT)], path=str(tmp_path))
    assert done.returncode == 2
    expected = "'ip' (iproute2) is missing" if os.geteuid() == 0 else "must run as root"
    assert expected in done.stderr
