# A stored finding is an IntakeFinding, so its name no longer clashes with the measuring code's
# plain Finding dataclass. The rows are kept: the table is renamed, its label stays "finding".

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("analysis", "0002_initial")]

    operations = [
        migrations.RenameModel(old_name="Finding", new_name="IntakeFinding"),
        migrations.AlterModelOptions(
            name="intakefinding",
            options={"ordering": ["report", "id"], "verbose_name": "finding"},
        ),
    ]
