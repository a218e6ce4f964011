"""rathaus.traffic: adaptive traffic signal control and its SUMO evaluation."""
