//! The claim tree an issuer signs, with each object member and array element marked plain or
//! selectively disclosable.

use serde_json::{Map, Value};

/// A claim value to issue: a JSON leaf, or an object or array whose members may each be
/// selectively disclosable (recursively: a disclosable member may itself hold disclosable ones).
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimNode {
    /// A JSON value issued as it is (its insides are not selectively disclosable).
    Leaf(Value),
    /// An object.
    Object(Vec<ObjectMember>),
    /// An array.
    Array(Vec<ArrayElement>),
}

/// A member of a [`ClaimNode::Object`].
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectMember {
    /// The claim name.
    pub name: String,
    /// The claim value.
    pub node: ClaimNode,
    /// Whether the member is hidden behind a disclosure.
    pub disclosable: bool,
}

/// An element of a [`ClaimNode::Array`].
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayElement {
    /// The element value.
    pub node: ClaimNode,
    /// Whether the element is hidden behind a disclosure.
    pub disclosable: bool,
}

impl ClaimNode {
    /// An empty object, to fill with [`ClaimNode::plain`] and [`ClaimNode::sd`].
    pub fn object() -> Self {
        ClaimNode::Object(Vec::new())
    }

    /// An empty array, to fill with [`ClaimNode::push_plain`] and [`ClaimNode::push_sd`].
    pub fn array() -> Self {
        ClaimNode::Array(Vec::new())
    }

    /// A JSON value issued as it is.
    pub fn leaf(value: impl Into<Value>) -> Self {
        ClaimNode::Leaf(value.into())
    }

    /// Adds an always-visible member (builder style; ignored on non-objects).
    pub fn plain(self, name: &str, node: impl Into<ClaimNode>) -> Self {
        self.member(name, node.into(), false)
    }

    /// Adds a selectively disclosable member (builder style; ignored on non-objects).
    pub fn sd(self, name: &str, node: impl Into<ClaimNode>) -> Self {
        self.member(name, node.into(), true)
    }

    fn member(mut self, name: &str, node: ClaimNode, disclosable: bool) -> Self {
        if let ClaimNode::Object(members) = &mut self {
            members.push(ObjectMember {
                name: name.to_owned(),
                node,
                disclosable,
            });
        }
        self
    }

    /// Appends an always-visible element (builder style; ignored on non-arrays).
    pub fn push_plain(self, node: impl Into<ClaimNode>) -> Self {
        self.element(node.into(), false)
    }

    /// Appends a selectively disclosable element (builder style; ignored on non-arrays).
    pub fn push_sd(self, node: impl Into<ClaimNode>) -> Self {
        self.element(node.into(), true)
    }

    fn element(mut self, node: ClaimNode, disclosable: bool) -> Self {
        if let ClaimNode::Array(elements) = &mut self {
            elements.push(ArrayElement { node, disclosable });
        }
        self
    }

    /// The plain JSON this node stands for, with every disclosure revealed.
    pub fn to_value(&self) -> Value {
        match self {
            ClaimNode::Leaf(value) => value.clone(),
            ClaimNode::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|m| (m.name.clone(), m.node.to_value()))
                    .collect::<Map<String, Value>>(),
            ),
            ClaimNode::Array(elements) => {
                Value::Array(elements.iter().map(|e| e.node.to_value()).collect())
            }
        }
    }
}

impl From<Value> for ClaimNode {
    fn from(value: Value) -> Self {
        ClaimNode::Leaf(value)
    }
}

impl From<&str> for ClaimNode {
    fn from(value: &str) -> Self {
        ClaimNode::Leaf(Value::String(value.to_owned()))
    }
}

impl From<String> for ClaimNode {
    fn from(value: String) -> Self {
        ClaimNode::Leaf(Value::String(value))
    }
}

impl From<u64> for ClaimNode {
    fn from(value: u64) -> Self {
        ClaimNode::Leaf(Value::from(value))
    }
}
