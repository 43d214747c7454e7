# csbench: can code-switching ability learned on seen language pairs carry over to
# unseen pairs through model merging? One DAG from synthetic (or real) data to tables.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/download.smk"
include: "rules/base.smk"
include: "rules/finetune.smk"
include: "rules/merge.smk"
include: "rules/dg.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
