"""CaloFlow study: CaloGAN-geometry showers (I/O, geometry), a fast toy shower simulator for
photons and displaced chi -> gamma gamma decays, and the lifetime reweighting of the paper."""
