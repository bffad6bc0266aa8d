//! Requests signed as Drone and Woodpecker sign them, captured as bytes to be sent again.
