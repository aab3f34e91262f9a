"""A scheduled job's run for one period: the unique pair makes it run once across replicas."""

from tortoise import fields
from tortoise.models import Model


class JobRun(Model):
    id = fields.IntField(primary_key=True)
    job = fields.CharField(max_length=64)
    period = fields.CharField(max_length=64)
    started_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "job_run"
        unique_together = (("job", "period"),)
