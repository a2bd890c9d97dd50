# CaloFlow likelihood tagging (showers -> Flow-I/Flow-II -> scores -> studies).
CALO_TARGETS = []
