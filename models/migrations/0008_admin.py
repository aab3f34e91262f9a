from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_digest_weeks')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Agent',
            name='previous_salt_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Agent',
            name='previous_signing_salt',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Member',
            name='away_until',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Vote',
            name='on_behalf_of',
            field=fields.CharField(null=True, max_length=32),
        ),
    ]
