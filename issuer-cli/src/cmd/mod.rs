//! One module per command.

pub(crate) mod audit;
pub(crate) mod dev;
pub(crate) mod enroll;
pub(crate) mod init;
pub(crate) mod issue;
pub(crate) mod log;
pub(crate) mod offer;
pub(crate) mod publish;
pub(crate) mod rotate;
pub(crate) mod staff;
pub(crate) mod status;
