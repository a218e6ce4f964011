"""Background work of the traffic module: simulation runs."""

from django_tasks import task


@task()
def traffic_simulation_run(run_id: int) -> str:
    """Execute a queued simulation run (see ``services.simulation_run_execute``)."""
    from rathaus.traffic import services

    return services.simulation_run_execute(run_id=run_id).status
