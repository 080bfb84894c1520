"""The human side: when reviewers' decisions make a final label (`verdict`), recording a decision
(`decisions`), and inter-rater agreement (`kappa`)."""
