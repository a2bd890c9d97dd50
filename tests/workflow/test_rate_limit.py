"""workflow/rules/common.smk drops snakemake's job rate limiter for local runs in `onstart:`. That reaches
into snakemake's scheduler: if an upgrade renames what it touches, the handler would silently do
nothing (and the head process would again spend ~1000 s of CPU on its timers), so fail here instead."""
import inspect
import re
from pathlib import Path

import snakemake.api  # noqa: F401  (first: snakemake.workflow cannot be imported on its own)
from snakemake.workflow import Workflow  # noqa: E402
from snakemake.scheduling.job_scheduler import JobScheduler  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_scheduler_still_reads_the_limiter_we_drop():
    init = inspect.getsource(JobScheduler.__init__)
    assert "self.job_rate_limiter = (" in init
    schedule = inspect.getsource(JobScheduler.schedule)
    # the re-armed timer we avoid, and the limiter-free branch of the job selector
    assert re.search(r"if self\.job_rate_limiter is not None:\s+#[^\n]*\n\s+#[^\n]*\n\s+self\._schedule_reevalutation",
                     schedule)
    assert "if self.job_rate_limiter is None:" in inspect.getsource(JobScheduler.job_selector)


def test_onstart_runs_after_the_scheduler_exists():
    run = inspect.getsource(Workflow.execute)
    assert run.index("self.scheduler = JobScheduler(") < run.index("self._onstart(")
    assert "local_exec" in inspect.getsource(Workflow)


def test_common_smk_drops_it_for_local_runs_only():
    smk = (ROOT / "workflow/rules/common.smk").read_text()
    handler = smk[smk.index("onstart:"):]
    assert "if workflow.local_exec and" in handler
    assert "workflow.scheduler.job_rate_limiter = None" in handler
