"""The pure chain a call's turns go through: sentiment, lexicon, cues, heat, alerts and the
H.E.A.T. coach. No I/O, no clocks: time is passed in."""
