"""Reviews: who may review a stay, and hotel ratings kept exact."""
