# Two commands on a fresh machine: `make run` (the whole default study) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
GPUS ?=
# Presets layered over config.yaml, e.g. `make run CONFIGS=configs/seeds.yaml`.
CONFIGS ?=
CONFIG_ARGS := $(if $(CONFIGS),--configfile config.yaml $(CONFIGS))
# The exact versions README's figures were measured with (`make lock` rewrites it from .venv):
# the same config gives bit-identical models only with the same libraries. `make install
# LOCK=` installs from pyproject's ranges instead.
LOCK ?= envs/requirements.lock.txt
LOCK_ARGS := $(if $(LOCK),-c $(LOCK))

.PHONY: install lock run timing test test-cluster lint report dry-run clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/activate
	# torch first, pinned to the CPU wheel the offline default is measured with; the
	# project's range (>=2.4,<2.15) then installs nothing more for it.
	$(BIN)/pip install --quiet $(LOCK_ARGS) "torch==2.13.0" || $(BIN)/pip install --quiet "torch>=2.4,<2.15"
	$(BIN)/pip install --quiet $(LOCK_ARGS) -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# Pin what .venv holds now (torch and the installer's own packages aside: torch is pinned above).
lock: install
	{ echo "# pip constraints: the versions of a fresh \`make install\` (written by \`make lock\`)."; \
	  $(BIN)/pip freeze --exclude-editable | grep -v -i -E '^(csbench|torch|pip|setuptools|wheel)=='; } > envs/requirements.lock.txt

run: install
	$(BIN)/snakemake --cores $(CORES) $(if $(GPUS),--resources gpu=$(GPUS)) $(CONFIG_ARGS)
	$(BIN)/snakemake --report results/report.html $(CONFIG_ARGS)
	$(BIN)/python -m csbench.report.timing results | tee results/timing.md

# Time per stage and per rule of the last run, from each job's own record in its log.
timing: install
	$(BIN)/python -m csbench.report.timing results

report: install
	$(BIN)/snakemake --report results/report.html $(CONFIG_ARGS)

dry-run: install
	$(BIN)/snakemake -n

test: install
	$(BIN)/ruff check csbench scripts tests benchmarks
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint
	$(BIN)/python -m pytest -ra

# A real single-node SLURM cluster (Debian's slurmctld, slurmd, munge; needs root) runs the micro
# study through profiles/slurm: tests/test_slurm_cluster.py. Not part of `make test`.
SLURM_PACKAGES := slurmctld slurmd slurm-client munge
test-cluster: install
	@command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
		&& command -v munged >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SLURM_PACKAGES); }
	$(BIN)/python -m pytest -m cluster -rA tests/test_slurm_cluster.py

clean:
	rm -rf results .snakemake
