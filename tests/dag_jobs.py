"""Print every job of a dry run (rule, wildcards, resources, settings) as YAML: Snakemake's own DAG API.

`python tests/dag_jobs.py CONFIG...` in the repository; used by tests/test_resources.py.
"""

import sys
from pathlib import Path

import yaml
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings


def main() -> None:
    configfiles = [Path(path) for path in sys.argv[1:]]
    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow = api.workflow(resource_settings=ResourceSettings(cores=2),
                                config_settings=ConfigSettings(configfiles=configfiles), snakefile=Path("Snakefile"))
        inner = workflow.dag(dag_settings=DAGSettings(forceall=True)).workflow_api._workflow
        inner._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
        inner._build_dag()  # sets inner.dag (Snakemake internals: no public job listing)
        jobs = [{"rule": job.rule.name, "wildcards": dict(job.wildcards.items()),
                 "resources": {key: value for key, value in job.resources.items()
                               if key in ("mem_mb", "runtime", "gpu_mem_mb", "gpu")},
                 "input": [str(path) for path in job.input],
                 "params": {key: value for key, value in job.params.items()
                            if key in ("settings", "hyperparameters", "grid", "held_out")}}
                for job in inner.dag.jobs]
    yaml.safe_dump(jobs, sys.stdout)


if __name__ == "__main__":
    main()
