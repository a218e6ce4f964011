"""rathaus.idpickup: ID documents picked up from a locker terminal."""
