pub mod protocol;
pub mod worker;
