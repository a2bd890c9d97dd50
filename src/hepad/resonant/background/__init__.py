"""The shared background models (declared in hepad.resonant.registry) and the template they yield."""
