"""rathaus.fragdenob: the moderated public dialogue between citizens and the mayor."""
