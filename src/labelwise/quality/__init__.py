"""What gold says about a project: accuracy and calibration measures (`metrics`), reviewers'
agreement (`reviewing`) and the quality report that assembles them (`report`)."""
