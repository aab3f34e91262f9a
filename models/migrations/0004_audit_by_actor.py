from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_checkpoints_and_retired_councils')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='AuditEvent',
            index=Index(fields=['actor_id', 'at']),
        ),
    ]
