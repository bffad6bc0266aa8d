//! Raw HTTP/1.1 over a socket, and a plain hyper client.
