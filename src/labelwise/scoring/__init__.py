"""Pure decisions about confidence, with no I/O: reading a label's probability from token logprobs
(`confidence`, over `json_regions` and `token_distribution`), self-consistency of samples,
combining consensus votes, choosing a threshold from gold (`calibration`), routing an item
(`routing`) and deciding what a new calibration re-routes (`rerouting`)."""
