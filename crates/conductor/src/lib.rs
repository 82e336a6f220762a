pub mod protocol;
pub mod winargs;
