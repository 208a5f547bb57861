//! The visitor's WebSocket to its conversation. Its events go to the runtime's chat (opened, a
//! frame, closed); dropping it closes the socket and removes its listeners first, so a socket
//! given up on (ended, or replaced by a reconnection) never reports again.

use web_sys::WebSocket;

use super::{Input, on};
use crate::browser::{Listener, number};
use crate::presenters::describe;

pub struct Socket {
    socket: WebSocket,
    _listeners: [Listener; 3],
}

impl Socket {
    pub fn open(url: &str) -> Result<Socket, String> {
        let socket = WebSocket::new(url).map_err(describe)?;
        let listeners = [
            Listener::new(&socket, "open", false, on(Input::Opened)),
            Listener::new(&socket, "message", false, on(Input::Frame)),
            Listener::new(&socket, "close", false, on(Input::Dropped)),
        ];
        Ok(Socket {
            socket,
            _listeners: listeners,
        })
    }

    pub fn is_open(&self) -> bool {
        number(&self.socket, "readyState") == 1.0
    }

    pub fn send(&self, frame: &str) {
        let _ = self.socket.send_with_str(frame);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = self.socket.close();
    }
}
