"""Alembic environment: the engine comes from storage.database (config.attributes['engine']).

On SQLite, batch migrations rebuild a table (create a copy, move the rows, drop the old one); with foreign keys
enforced, dropping a table that other rows point at fails. As SQLite's documentation prescribes for such
changes, foreign keys are switched off for the migration (outside its transaction, where the PRAGMA works),
checked with ``PRAGMA foreign_key_check`` before the transaction commits, and switched on again.
"""

from alembic import context
from sqlalchemy import text

from storage.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                              compare_type=True)
            context.run_migrations()
            if sqlite:
                broken = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
